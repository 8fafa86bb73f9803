// SPDX-License-Identifier: Apache-2.0
/*
 * Refresh in place (refresh.h): the live connection switches to a new view
 * image with no unmount. The writer (src/view/writeViewImage.ts) keeps the
 * nodeid and type of every path that stays, gives new paths new nodeids,
 * and keeps vanished paths as orphans; this file checks that, swaps the
 * image, and tells the kernel what changed:
 * - FUSE_NOTIFY_INVAL_ENTRY for every name added to or removed from a
 *   directory both images have (an added name may have a negative entry
 *   cached for a year; a removed one a positive entry);
 * - FUSE_NOTIFY_INVAL_INODE for such a directory (its cached listing and
 *   attributes), and for every file or symlink whose size, bytes, digest,
 *   target or mtime changed (refs/main: inline, KEEP_CACHE).
 * The notifications go out only after no worker uses the old image, so no
 * answer computed from it can reach the kernel after them. Calls image.c,
 * passthrough.c, notify.c, stats.c, log.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "refresh.h"
#include "request.h"
#include "state.h"
#include "stats_file.h"

struct counts {
	uint64_t added, removed, changed, entries, inodes, not_cached, errors;
};

static uint64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

void mfs_refresh_quiesce(struct mfs_daemon *d, const void *img)
{
	struct timespec pause = { 0, 100000 };
	int i, busy;

	do {
		busy = 0;
		for (i = 0; i < d->nworkers; i++)
			if (__atomic_load_n(&d->w[i].active,
					    __ATOMIC_SEQ_CST) == img)
				busy = 1;
		if (busy)
			nanosleep(&pause, NULL);
	} while (busy);
}

static void tally(struct counts *c, int rc, int entry)
{
	if (rc < 0)
		c->errors++;
	else if (rc == 1)
		c->not_cached++;
	if (entry)
		c->entries++;
	else
		c->inodes++;
}

static int bytes_differ(const struct mfs_image *a, const struct mfs_inode *x,
			const struct mfs_image *b, const struct mfs_inode *y)
{
	return x->b != y->b ||
	       memcmp(a->strings + x->a, b->strings + y->a, x->b);
}

/* a file or symlink that shows other bytes or attributes now */
static int changed(const struct mfs_image *a, const struct mfs_inode *x,
		   const struct mfs_image *b, const struct mfs_inode *y)
{
	if (x->size != y->size || x->mtime != y->mtime ||
	    (x->flags & MFS_INODE_INLINE) != (y->flags & MFS_INODE_INLINE))
		return 1;
	if (S_ISLNK(x->mode) || (x->flags & MFS_INODE_INLINE))
		return bytes_differ(a, x, b, y);
	return memcmp(x->blake3, y->blake3, 32) != 0;
}

static void diff_dir(int fd, const struct mfs_image *a,
		     const struct mfs_inode *x, const struct mfs_image *b,
		     const struct mfs_inode *y, struct counts *c)
{
	const struct mfs_dirent *da = a->dirents + x->a;
	const struct mfs_dirent *db = b->dirents + y->a;
	uint32_t i = 0, j = 0;
	int any = 0;

	while (i < x->b || j < y->b) {
		int cmp;

		if (i == x->b)
			cmp = 1;
		else if (j == y->b)
			cmp = -1;
		else
			cmp = mfs_image_name_cmp(a->strings + da[i].name_off,
						 da[i].name_len,
						 b->strings + db[j].name_off,
						 db[j].name_len);
		if (cmp == 0 && da[i].nodeid == db[j].nodeid) {
			i++;
			j++;
			continue;
		}
		any = 1;
		if (cmp <= 0) {
			/* removed (or, with cmp == 0, replaced) */
			tally(c, mfs_notify_inval_entry(fd, x->nodeid,
							a->strings +
							da[i].name_off,
							da[i].name_len), 1);
			/* a removed folder's own entries are not counted */
			if (!(y->flags & MFS_INODE_ORPHAN))
				c->removed++;
			if (cmp == 0)
				c->added++;
			i++;
			if (cmp == 0)
				j++;
		} else {
			/* added: drops a negative entry cached for a year */
			tally(c, mfs_notify_inval_entry(fd, y->nodeid,
							b->strings +
							db[j].name_off,
							db[j].name_len), 1);
			c->added++;
			j++;
		}
	}
	if (any || x->nlink != y->nlink || x->mtime != y->mtime)
		tally(c, mfs_notify_inval_inode(fd, y->nodeid), 0);
}

static void diff(int fd, const struct mfs_image *a,
		 const struct mfs_image *b, struct counts *c)
{
	uint32_t i = 0, j = 0;

	while (i < a->inode_count && j < b->inode_count) {
		const struct mfs_inode *x = &a->inodes[i], *y = &b->inodes[j];

		if (x->nodeid < y->nodeid) {
			i++;
			continue;
		}
		if (x->nodeid > y->nodeid) {
			j++;
			continue;
		}
		if (S_ISDIR(x->mode)) {
			diff_dir(fd, a, x, b, y, c);
		} else if (changed(a, x, b, y)) {
			c->changed++;
			tally(c, mfs_notify_inval_inode(fd, y->nodeid), 0);
		}
		i++;
		j++;
	}
}

/* the same nodeid is the same file type in both (else overlayfs: ESTALE) */
static int types_kept(const struct mfs_image *a, const struct mfs_image *b,
		      uint64_t *bad)
{
	uint32_t i = 0, j = 0;

	while (i < a->inode_count && j < b->inode_count) {
		const struct mfs_inode *x = &a->inodes[i], *y = &b->inodes[j];

		if (x->nodeid < y->nodeid) {
			i++;
		} else if (x->nodeid > y->nodeid) {
			j++;
		} else {
			if ((x->mode & S_IFMT) != (y->mode & S_IFMT)) {
				*bad = x->nodeid;
				return 0;
			}
			i++;
			j++;
		}
	}
	return 1;
}

/* nodeids of `a` that `b` dropped: they would answer ESTALE */
static int nodeids_kept(const struct mfs_image *a, const struct mfs_image *b,
			uint64_t *bad)
{
	uint32_t i;

	for (i = 0; i < a->inode_count; i++)
		if (!mfs_image_inode(b, a->inodes[i].nodeid)) {
			*bad = a->inodes[i].nodeid;
			return 0;
		}
	return 1;
}

int mfs_refresh(struct mfs_daemon *d, const char *path, char *reply,
		size_t len)
{
	const struct mfs_image *cur = __atomic_load_n(&d->img,
						      __ATOMIC_ACQUIRE);
	struct mfs_image *next;
	struct counts c;
	uint64_t t0 = now_us(), t1, t2, bad = 0;
	char err[512];

	memset(&c, 0, sizeof(c));
	next = calloc(1, sizeof(*next));
	if (!next) {
		snprintf(reply, len, "err REFRESH_FAILED out of memory");
		return -1;
	}
	if (mfs_image_load(path, next, err, sizeof(err)) < 0) {
		mfs_log("refresh: %s", err);
		snprintf(reply, len, "err MOUNT_BAD_IMAGE %s", err);
		free(next);
		return -1;
	}
	if (strcmp(next->objects_dir, cur->objects_dir)) {
		snprintf(reply, len, "err REFRESH_OTHER_STORE the image shows "
			 "%s, the mount %s", next->objects_dir,
			 cur->objects_dir);
		goto refuse;
	}
	if (next->base_id != cur->image_id) {
		snprintf(reply, len, "err REFRESH_STALE_BASE the image was "
			 "made from image %016llx, the mount serves %016llx",
			 (unsigned long long)next->base_id,
			 (unsigned long long)cur->image_id);
		goto refuse;
	}
	if (next->next_nodeid < cur->next_nodeid ||
	    !nodeids_kept(cur, next, &bad) || !types_kept(cur, next, &bad)) {
		snprintf(reply, len, "err REFRESH_NODEID_CHANGED nodeid %llu "
			 "is gone or changed type (the kernel would answer "
			 "ESTALE)", (unsigned long long)bad);
		goto refuse;
	}
	if (mfs_state_reserve(next->next_nodeid) < 0) {
		snprintf(reply, len, "err REFRESH_FAILED the state file has "
			 "no room for %llu nodeids",
			 (unsigned long long)next->next_nodeid);
		goto refuse;
	}
	/* a daemon started after this (crash, restart) loads it too */
	if (strcmp(path, d->opts->image_path) &&
	    rename(path, d->opts->image_path) < 0) {
		int saved = errno;

		mfs_log("refresh: rename %s to %s: %s", path,
			d->opts->image_path, strerror(saved));
		snprintf(reply, len, "err REFRESH_FAILED rename %s: %s", path,
			 strerror(saved));
		goto refuse;
	}
	t1 = now_us();
	__atomic_store_n(&d->img, next, __ATOMIC_SEQ_CST);
	mfs_refresh_quiesce(d, cur);
	diff(d->opts->fds[0], cur, next, &c);
	t2 = now_us();
	mfs_stats_set_image(next->generation, next->image_id, 1, t2 - t0);
	mfs_log("refresh: now image %016llx (catalog %llu, %u inodes, %u "
		"orphans): %llu names added, %llu removed, %llu files "
		"changed; %llu entry and %llu inode invalidations (%llu not "
		"cached) in %llu us",
		(unsigned long long)next->image_id,
		(unsigned long long)next->generation, next->inode_count,
		next->orphans, (unsigned long long)c.added,
		(unsigned long long)c.removed, (unsigned long long)c.changed,
		(unsigned long long)c.entries, (unsigned long long)c.inodes,
		(unsigned long long)c.not_cached,
		(unsigned long long)(t2 - t0));
	snprintf(reply, len,
		 "ok {\"imageId\":\"%016llx\",\"generation\":%llu,"
		 "\"inodes\":%u,\"orphans\":%u,\"added\":%llu,"
		 "\"removed\":%llu,\"changed\":%llu,\"invalEntries\":%llu,"
		 "\"invalInodes\":%llu,\"notCached\":%llu,"
		 "\"notifyErrors\":%llu,\"loadUs\":%llu,\"switchUs\":%llu}",
		 (unsigned long long)next->image_id,
		 (unsigned long long)next->generation, next->inode_count,
		 next->orphans, (unsigned long long)c.added,
		 (unsigned long long)c.removed, (unsigned long long)c.changed,
		 (unsigned long long)c.entries, (unsigned long long)c.inodes,
		 (unsigned long long)c.not_cached,
		 (unsigned long long)c.errors,
		 (unsigned long long)(t1 - t0),
		 (unsigned long long)(t2 - t1));
	mfs_image_free((struct mfs_image *)cur);
	free((void *)cur);
	return 0;
refuse:
	mfs_log("refresh refused: %s", reply + 4);
	mfs_image_free(next);
	free(next);
	return -1;
}
