// SPDX-License-Identifier: Apache-2.0
/*
 * The view image: one file written by src/view/writeViewImage.ts, read here
 * into private memory (so a file rewritten under a live daemon can never
 * change what it serves, nor fault it) and checked once at load, so the
 * request handlers index it without bounds checks (VIEW_IMAGE.md has the
 * format). A leaf: it calls no other file of native/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "view_image.h"

static int str_ok(const struct mfs_image *img, uint64_t off, uint64_t len)
{
	if (off >= img->strings_size || len >= img->strings_size - off)
		return 0;
	return img->strings[off + len] == '\0';
}

int mfs_image_name_cmp(const char *a, size_t alen, const char *b,
		       size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static long find_index(const struct mfs_image *img, uint64_t nodeid)
{
	uint32_t lo = 0, hi = img->inode_count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint64_t n = img->inodes[mid].nodeid;

		if (n == nodeid)
			return mid;
		if (n < nodeid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

const struct mfs_inode *mfs_image_inode(const struct mfs_image *img,
					uint64_t nodeid)
{
	long i = find_index(img, nodeid);

	return i < 0 ? NULL : &img->inodes[i];
}

static int check_dir(const struct mfs_image *img, uint32_t i,
		     uint8_t *refs, char *err, size_t errlen)
{
	const struct mfs_inode *n = &img->inodes[i];
	uint32_t j;

	if (n->a > img->dirent_count || n->b > img->dirent_count - n->a) {
		snprintf(err, errlen, "nodeid %llu: bad entries",
			 (unsigned long long)n->nodeid);
		return -1;
	}
	if ((n->flags & MFS_INODE_ORPHAN) && n->b) {
		snprintf(err, errlen, "nodeid %llu: orphan with entries",
			 (unsigned long long)n->nodeid);
		return -1;
	}
	for (j = 0; j < n->b; j++) {
		const struct mfs_dirent *d = &img->dirents[n->a + j];
		const char *name = img->strings + d->name_off;
		long k;

		if (!str_ok(img, d->name_off, d->name_len) ||
		    d->name_len == 0 || d->name_len > 255 ||
		    memchr(name, '/', d->name_len) ||
		    (d->name_len == 1 && name[0] == '.') ||
		    (d->name_len == 2 && name[0] == '.' && name[1] == '.')) {
			snprintf(err, errlen, "nodeid %llu: bad entry %u",
				 (unsigned long long)n->nodeid, j);
			return -1;
		}
		k = find_index(img, d->nodeid);
		if (k < 0 || d->nodeid == MFS_ROOT_NODEID ||
		    img->inodes[k].parent != n->nodeid ||
		    (img->inodes[k].flags & MFS_INODE_ORPHAN) || refs[k]) {
			snprintf(err, errlen, "nodeid %llu: bad entry %u",
				 (unsigned long long)n->nodeid, j);
			return -1;
		}
		refs[k] = 1;
		if (j > 0) {
			const struct mfs_dirent *p = d - 1;

			if (mfs_image_name_cmp(img->strings + p->name_off,
					       p->name_len, name,
					       d->name_len) >= 0) {
				snprintf(err, errlen,
					 "nodeid %llu: entries not sorted",
					 (unsigned long long)n->nodeid);
				return -1;
			}
		}
	}
	return 0;
}

static int check(struct mfs_image *img, char *err, size_t errlen)
{
	const struct mfs_inode *root = &img->inodes[0];
	uint8_t *refs;
	uint32_t i, placed = 0;
	int rc = -1;

	if (img->inode_count < 1 || root->nodeid != MFS_ROOT_NODEID ||
	    !S_ISDIR(root->mode) || root->parent != MFS_ROOT_NODEID ||
	    (root->flags & MFS_INODE_ORPHAN)) {
		snprintf(err, errlen, "nodeid 1 is not the root directory");
		return -1;
	}
	refs = calloc(img->inode_count, 1);
	if (!refs) {
		snprintf(err, errlen, "out of memory for %u inodes",
			 img->inode_count);
		return -1;
	}
	refs[0] = 1;
	/* first the order, which every binary search below relies on */
	for (i = 0; i < img->inode_count; i++) {
		const struct mfs_inode *n = &img->inodes[i];

		if (i > 0 && n->nodeid <= img->inodes[i - 1].nodeid) {
			snprintf(err, errlen, "inodes not sorted by nodeid");
			goto out;
		}
		if (n->nodeid == 0 || n->nodeid >= img->next_nodeid) {
			snprintf(err, errlen, "nodeid %llu out of range",
				 (unsigned long long)n->nodeid);
			goto out;
		}
	}
	for (i = 0; i < img->inode_count; i++) {
		const struct mfs_inode *n = &img->inodes[i];
		long p;

		p = find_index(img, n->parent);
		if (p < 0 || !S_ISDIR(img->inodes[p].mode)) {
			snprintf(err, errlen, "nodeid %llu: bad parent",
				 (unsigned long long)n->nodeid);
			goto out;
		}
		if (n->flags & MFS_INODE_ORPHAN)
			img->orphans++;
		if (S_ISREG(n->mode) && !(n->flags & MFS_INODE_INLINE))
			continue;
		if (S_ISREG(n->mode) || S_ISLNK(n->mode)) {
			if (!str_ok(img, n->a, n->b) || n->size != n->b) {
				snprintf(err, errlen,
					 "nodeid %llu: bad %s",
					 (unsigned long long)n->nodeid,
					 S_ISLNK(n->mode) ? "target" :
							    "inline bytes");
				goto out;
			}
			continue;
		}
		if (!S_ISDIR(n->mode)) {
			snprintf(err, errlen, "nodeid %llu: bad mode",
				 (unsigned long long)n->nodeid);
			goto out;
		}
		if (check_dir(img, i, refs, err, errlen) < 0)
			goto out;
	}
	/*
	 * Every inode that is not an orphan is named by exactly one entry
	 * (refs), and is reachable from the root: count from the root down
	 * through the entries (each one once, since names are unique).
	 */
	for (i = 0; i < img->inode_count; i++)
		if (!refs[i] && !(img->inodes[i].flags & MFS_INODE_ORPHAN)) {
			snprintf(err, errlen, "nodeid %llu is in no directory",
				 (unsigned long long)img->inodes[i].nodeid);
			goto out;
		}
	{
		uint32_t *queue = malloc(sizeof(uint32_t) * img->inode_count);
		uint32_t head = 0, tail = 0;

		if (!queue) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		queue[tail++] = 0;
		while (head < tail) {
			const struct mfs_inode *d = &img->inodes[queue[head++]];
			uint32_t j;

			placed++;
			if (!S_ISDIR(d->mode))
				continue;
			for (j = 0; j < d->b && tail < img->inode_count; j++)
				queue[tail++] = find_index(
					img, img->dirents[d->a + j].nodeid);
		}
		free(queue);
	}
	if (placed != img->inode_count - img->orphans) {
		snprintf(err, errlen, "the tree has a loop");
		goto out;
	}
	rc = 0;
out:
	free(refs);
	return rc;
}

static int read_all(const char *path, uint8_t **out, size_t *size,
		    char *err, size_t errlen)
{
	struct stat st;
	size_t got = 0;
	uint8_t *buf;
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
	if ((size_t)st.st_size < sizeof(struct mfs_image_header) ||
	    (uint64_t)st.st_size > MFS_IMAGE_MAX_SIZE) {
		close(fd);
		snprintf(err, errlen, "%s: too small for a view image", path);
		if ((uint64_t)st.st_size > MFS_IMAGE_MAX_SIZE)
			snprintf(err, errlen, "%s: larger than %llu bytes",
				 path, (unsigned long long)MFS_IMAGE_MAX_SIZE);
		return -1;
	}
	buf = malloc(st.st_size);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory for %lld bytes",
			 path, (long long)st.st_size);
		return -1;
	}
	/* a file that grows or shrinks while read: what was there */
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + got, st.st_size - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			saved = errno;
			free(buf);
			close(fd);
			snprintf(err, errlen, "read %s: %s", path,
				 strerror(saved));
			return -1;
		}
		if (k == 0)
			break;
		got += k;
	}
	close(fd);
	*out = buf;
	*size = got;
	return 0;
}

int mfs_image_load(const char *path, struct mfs_image *img,
		   char *err, size_t errlen)
{
	const struct mfs_image_header *h;
	uint8_t *base;
	size_t size;

	memset(img, 0, sizeof(*img));
	if (read_all(path, &base, &size, err, errlen) < 0)
		return -1;
	h = (const void *)base;
	img->base = base;
	img->size = size;
	if (size < sizeof(*h)) {
		snprintf(err, errlen, "%s: too small for a view image", path);
		goto bad;
	}
	if (memcmp(h->magic, MFS_IMAGE_MAGIC, 8) ||
	    h->version != MFS_IMAGE_VERSION ||
	    h->header_size != MFS_IMAGE_HEADER_SIZE) {
		snprintf(err, errlen, "%s: not a version %d view image",
			 path, MFS_IMAGE_VERSION);
		goto bad;
	}
	if (h->inodes_off % 8 || h->dirents_off % 8 ||
	    h->inodes_off > size ||
	    (uint64_t)h->inode_count * MFS_INODE_SIZE >
		    size - h->inodes_off ||
	    h->dirents_off > size ||
	    (uint64_t)h->dirent_count * MFS_DIRENT_SIZE >
		    size - h->dirents_off ||
	    h->strings_off > size ||
	    h->strings_size > size - h->strings_off) {
		snprintf(err, errlen, "%s: sections out of bounds", path);
		goto bad;
	}
	if (h->image_id == 0 || h->next_nodeid < 2) {
		snprintf(err, errlen, "%s: bad image id or next nodeid", path);
		goto bad;
	}
	img->inode_count = h->inode_count;
	img->dirent_count = h->dirent_count;
	img->inodes = (const void *)(img->base + h->inodes_off);
	img->dirents = (const void *)(img->base + h->dirents_off);
	img->strings = (const char *)img->base + h->strings_off;
	img->strings_size = h->strings_size;
	img->mtime = h->mtime;
	img->next_nodeid = h->next_nodeid;
	img->image_id = h->image_id;
	img->base_id = h->base_id;
	img->generation = h->generation;
	if (!str_ok(img, h->objects_dir_off, h->objects_dir_len) ||
	    h->objects_dir_len == 0) {
		snprintf(err, errlen, "%s: bad objects dir", path);
		goto bad;
	}
	img->objects_dir = img->strings + h->objects_dir_off;
	if (check(img, err, errlen) < 0) {
		size_t n = strlen(err);

		snprintf(err + n, errlen - n, " (%s)", path);
		goto bad;
	}
	return 0;
bad:
	mfs_image_free(img);
	return -1;
}

void mfs_image_free(struct mfs_image *img)
{
	free(img->base);
	memset(img, 0, sizeof(*img));
}

uint64_t mfs_image_lookup(const struct mfs_image *img,
			  const struct mfs_inode *dir,
			  const char *name, size_t len)
{
	const struct mfs_dirent *d = img->dirents + dir->a;
	uint32_t lo = 0, hi = dir->b;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = mfs_image_name_cmp(img->strings + d[mid].name_off,
					   d[mid].name_len, name, len);

		if (c == 0)
			return d[mid].nodeid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Slow (a scan of each parent): only used to name files in log lines. */
void mfs_image_path(const struct mfs_image *img, uint64_t nodeid,
		    char *buf, size_t len)
{
	const struct mfs_inode *n = mfs_image_inode(img, nodeid);
	size_t pos = len - 1;
	int depth = 0;

	if (n && (n->flags & MFS_INODE_ORPHAN)) {
		snprintf(buf, len, "(removed, nodeid %llu)",
			 (unsigned long long)nodeid);
		return;
	}
	buf[pos] = '\0';
	while (n && nodeid != MFS_ROOT_NODEID && depth++ < 4096) {
		const struct mfs_inode *p = mfs_image_inode(img, n->parent);
		const struct mfs_dirent *d;
		uint32_t j;

		if (!p)
			break;
		d = img->dirents + p->a;
		for (j = 0; j < p->b && d[j].nodeid != nodeid; j++)
			;
		if (j == p->b || d[j].name_len + 1 > pos)
			break;
		pos -= d[j].name_len;
		memcpy(buf + pos, img->strings + d[j].name_off,
		       d[j].name_len);
		buf[--pos] = '/';
		nodeid = n->parent;
		n = p;
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

uint64_t mfs_image_blob_tag(const struct mfs_inode *ino)
{
	uint64_t t;

	memcpy(&t, ino->blake3, 8);
	return t | 1;
}
