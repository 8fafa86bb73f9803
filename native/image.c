// SPDX-License-Identifier: Apache-2.0
/*
 * The view image: one file written by src/view/writeViewImage.ts and mapped
 * read-only here. Everything is checked once at load so the request handlers
 * can index it without bounds checks (VIEW_IMAGE.md has the format).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "view_image.h"

static int str_ok(const struct mfs_image *img, uint64_t off, uint64_t len)
{
	if (off >= img->strings_size || len >= img->strings_size - off)
		return 0;
	return img->strings[off + len] == '\0';
}

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int check(const struct mfs_image *img, uint32_t dirent_count,
		 char *err, size_t errlen)
{
	uint32_t i, j;

	if (img->inode_count < 1 || !S_ISDIR(img->inodes[0].mode)) {
		snprintf(err, errlen, "inode 1 is not a directory");
		return -1;
	}
	for (i = 0; i < img->inode_count; i++) {
		const struct mfs_inode *n = &img->inodes[i];

		if (n->parent < 1 || n->parent > img->inode_count ||
		    !S_ISDIR(img->inodes[n->parent - 1].mode)) {
			snprintf(err, errlen, "inode %u: bad parent", i + 1);
			return -1;
		}
		if (S_ISREG(n->mode) && !(n->flags & MFS_INODE_INLINE))
			continue;
		if (S_ISREG(n->mode)) {
			if (!str_ok(img, n->a, n->b) || n->size != n->b) {
				snprintf(err, errlen,
					 "inode %u: bad inline bytes", i + 1);
				return -1;
			}
			continue;
		}
		if (S_ISLNK(n->mode)) {
			if (!str_ok(img, n->a, n->b) || n->size != n->b) {
				snprintf(err, errlen, "inode %u: bad target",
					 i + 1);
				return -1;
			}
			continue;
		}
		if (!S_ISDIR(n->mode) || n->a > dirent_count ||
		    n->b > dirent_count - n->a) {
			snprintf(err, errlen, "inode %u: bad mode or entries",
				 i + 1);
			return -1;
		}
		for (j = 0; j < n->b; j++) {
			const struct mfs_dirent *d = &img->dirents[n->a + j];
			const char *name = img->strings + d->name_off;

			if (!str_ok(img, d->name_off, d->name_len) ||
			    d->name_len == 0 || d->name_len > 255 ||
			    memchr(name, '/', d->name_len) ||
			    d->ino < 2 || d->ino > img->inode_count ||
			    img->inodes[d->ino - 1].parent != i + 1) {
				snprintf(err, errlen,
					 "inode %u: bad entry %u", i + 1, j);
				return -1;
			}
			if (j > 0) {
				const struct mfs_dirent *p = d - 1;

				if (name_cmp(img->strings + p->name_off,
					     p->name_len, name,
					     d->name_len) >= 0) {
					snprintf(err, errlen,
						 "inode %u: entries not sorted",
						 i + 1);
					return -1;
				}
			}
		}
	}
	return 0;
}

int mfs_image_load(const char *path, struct mfs_image *img,
		   char *err, size_t errlen)
{
	const struct mfs_image_header *h;
	struct stat st;
	void *base;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		saved = errno;
		snprintf(err, errlen, "open %s: %s", path, strerror(saved));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		saved = errno;
		close(fd);
		snprintf(err, errlen, "stat %s: %s", path, strerror(saved));
		return -1;
	}
	if ((size_t)st.st_size < sizeof(*h)) {
		close(fd);
		snprintf(err, errlen, "%s: too small for a view image", path);
		return -1;
	}
	base = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	saved = errno;
	close(fd);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "mmap %s: %s", path, strerror(saved));
		return -1;
	}
	h = base;
	memset(img, 0, sizeof(*img));
	img->base = base;
	img->size = st.st_size;
	if (memcmp(h->magic, MFS_IMAGE_MAGIC, 8) ||
	    h->version != MFS_IMAGE_VERSION ||
	    h->header_size != MFS_IMAGE_HEADER_SIZE) {
		snprintf(err, errlen, "%s: not a version %d view image",
			 path, MFS_IMAGE_VERSION);
		goto bad;
	}
	if (h->inodes_off % 8 || h->dirents_off % 8 ||
	    h->inodes_off > img->size ||
	    (uint64_t)h->inode_count * MFS_INODE_SIZE >
		    img->size - h->inodes_off ||
	    h->dirents_off > img->size ||
	    (uint64_t)h->dirent_count * MFS_DIRENT_SIZE >
		    img->size - h->dirents_off ||
	    h->strings_off > img->size ||
	    h->strings_size > img->size - h->strings_off) {
		snprintf(err, errlen, "%s: sections out of bounds", path);
		goto bad;
	}
	img->inode_count = h->inode_count;
	img->inodes = (const void *)(img->base + h->inodes_off);
	img->dirents = (const void *)(img->base + h->dirents_off);
	img->strings = (const char *)img->base + h->strings_off;
	img->strings_size = h->strings_size;
	img->mtime = h->mtime;
	if (!str_ok(img, h->objects_dir_off, h->objects_dir_len) ||
	    h->objects_dir_len == 0) {
		snprintf(err, errlen, "%s: bad objects dir", path);
		goto bad;
	}
	img->objects_dir = img->strings + h->objects_dir_off;
	if (check(img, h->dirent_count, err, errlen) < 0)
		goto bad;
	return 0;
bad:
	munmap(base, st.st_size);
	memset(img, 0, sizeof(*img));
	return -1;
}

const struct mfs_inode *mfs_image_inode(const struct mfs_image *img,
					uint64_t ino)
{
	if (ino < 1 || ino > img->inode_count)
		return NULL;
	return &img->inodes[ino - 1];
}

uint32_t mfs_image_lookup(const struct mfs_image *img,
			  const struct mfs_inode *dir,
			  const char *name, size_t len)
{
	const struct mfs_dirent *d = img->dirents + dir->a;
	uint32_t lo = 0, hi = dir->b;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(img->strings + d[mid].name_off,
				 d[mid].name_len, name, len);

		if (c == 0)
			return d[mid].ino;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Slow (a scan of each parent): only used to name files in log lines. */
void mfs_image_path(const struct mfs_image *img, uint32_t ino,
		    char *buf, size_t len)
{
	size_t pos = len - 1;
	int depth = 0;

	buf[pos] = '\0';
	while (ino > 1 && depth++ < 4096) {
		const struct mfs_inode *p = &img->inodes[img->inodes[ino - 1]
							  .parent - 1];
		const struct mfs_dirent *d = img->dirents + p->a;
		uint32_t j;

		for (j = 0; j < p->b && d[j].ino != ino; j++)
			;
		if (j == p->b || d[j].name_len + 1 > pos)
			break;
		pos -= d[j].name_len;
		memcpy(buf + pos, img->strings + d[j].name_off,
		       d[j].name_len);
		buf[--pos] = '/';
		ino = img->inodes[ino - 1].parent;
	}
	if (pos == len - 1)
		buf[--pos] = '/';
	memmove(buf, buf + pos, len - pos);
}

/* objects/<2 hex>/<64 hex>, relative to the objects dir: "ab/ab12..." */
void mfs_image_blob_name(const struct mfs_inode *ino, char out[68])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	out[0] = hex[ino->blake3[0] >> 4];
	out[1] = hex[ino->blake3[0] & 15];
	out[2] = '/';
	for (i = 0; i < 32; i++) {
		out[3 + 2 * i] = hex[ino->blake3[i] >> 4];
		out[4 + 2 * i] = hex[ino->blake3[i] & 15];
	}
	out[67] = '\0';
}
