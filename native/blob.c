// SPDX-License-Identifier: Apache-2.0
/*
 * Blob access: every blob is opened with openat on the store's objects dir
 * fd, O_RDONLY|O_CLOEXEC|O_NOFOLLOW. Passthrough opens hand their fd to the
 * kernel and close it (passthrough.c); daemon-served reads keep one fd per
 * blob here for the life of the daemon, in a table keyed by digest (so a
 * nodeid whose content changed in a refresh reads its new blob). A blob
 * file replaced in the store under the same digest (verify --repair
 * quarantines a damaged one, an import writes it again) would still be read
 * through the kept fd of the old file; so an OPEN compares the kept fd with
 * the file at the blob's path and, when they differ, points the kept fd
 * number at the new file with dup2(2): atomic, so a READ that has just
 * loaded the number reads the old file or the new one, never a number
 * closed and reused for something else. Calls image.c, stats.c, log.c.
 *
 * Locks: g_insert serialises inserts into the table and renewals (never
 * held across an open: the blob is opened first); lookups take no lock (a
 * slot's digest and fd are written before its tag is published). Nothing
 * else is held with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob.h"
#include "log.h"
#include "stats_file.h"

#define SLOTS	65536		/* a power of two */
#define PROBES	64

struct slot {
	uint64_t tag;		/* 0: empty; published last */
	int fd;
	uint8_t digest[32];
};

static const char *g_objects_dir;
static int g_objdir = -1;
static struct slot *g_slots;
static pthread_mutex_t g_insert = PTHREAD_MUTEX_INITIALIZER;

int mfs_blob_setup(const char *objects_dir)
{
	g_objects_dir = objects_dir;
	g_objdir = open(objects_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g_objdir < 0) {
		int saved = errno;

		mfs_log("open store objects dir %s: %s", objects_dir,
			strerror(saved));
		return -1;
	}
	g_slots = calloc(SLOTS, sizeof(*g_slots));
	if (!g_slots) {
		mfs_log("out of memory for the blob fd table");
		close(g_objdir);
		g_objdir = -1;
		return -1;
	}
	return 0;
}

void mfs_blob_teardown(void)
{
	free(g_slots);
	g_slots = NULL;
	close(g_objdir);
	g_objdir = -1;
}

int mfs_blob_open(uint32_t opcode, const struct mfs_image *img,
		  uint64_t nodeid, const struct mfs_inode *n)
{
	char name[68], path[4096];
	int fd, saved;

	mfs_image_blob_name(n, name);
	do
		fd = openat(g_objdir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	while (fd < 0 && errno == EINTR);
	if (fd >= 0)
		return fd;
	saved = errno;
	mfs_stats_count(MFS_C_BLOB_ERRORS, 1);
	mfs_image_path(img, nodeid, path, sizeof(path));
	mfs_log("op=%s nodeid=%llu path=%s blob=%s/%s: %s",
		mfs_opcode_name(opcode), (unsigned long long)nodeid, path,
		g_objects_dir, name, strerror(saved));
	return -saved;
}

int mfs_blob_check(uint32_t opcode, const struct mfs_image *img,
		   uint64_t nodeid, const struct mfs_inode *n, struct stat *out)
{
	char name[68], path[4096];
	struct stat st;
	int saved;

	mfs_image_blob_name(n, name);
	if (fstatat(g_objdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		saved = errno;
		mfs_stats_count(MFS_C_BLOB_ERRORS, 1);
		mfs_image_path(img, nodeid, path, sizeof(path));
		mfs_log("op=%s nodeid=%llu path=%s blob=%s/%s: %s",
			mfs_opcode_name(opcode), (unsigned long long)nodeid,
			path, g_objects_dir, name, strerror(saved));
		return -saved;
	}
	if ((uint64_t)st.st_size == n->size) {
		if (out)
			*out = st;
		return 0;
	}
	mfs_stats_count(MFS_C_BLOB_ERRORS, 1);
	mfs_image_path(img, nodeid, path, sizeof(path));
	mfs_log("op=%s nodeid=%llu path=%s blob=%s/%s: has %lld bytes, the view "
		"shows %llu: answering EIO (modelfs verify --repair finds it; "
		"ingest or import it again to heal it)",
		mfs_opcode_name(opcode), (unsigned long long)nodeid, path,
		g_objects_dir, name, (long long)st.st_size,
		(unsigned long long)n->size);
	return -EIO;
}

int mfs_blob_open_digest(const uint8_t digest[32])
{
	struct mfs_inode n;
	char name[68];
	int fd;

	memset(&n, 0, sizeof(n));
	memcpy(n.blake3, digest, 32);
	mfs_image_blob_name(&n, name);
	do
		fd = openat(g_objdir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	while (fd < 0 && errno == EINTR);
	return fd >= 0 ? fd : -errno;
}

/* the slot holding `n`'s blob, or the first empty one; NULL: full */
static struct slot *find(const struct mfs_inode *n, uint64_t tag)
{
	uint32_t i, k;

	for (i = 0, k = tag & (SLOTS - 1); i < PROBES;
	     i++, k = (k + 1) & (SLOTS - 1)) {
		struct slot *s = &g_slots[k];
		uint64_t t = __atomic_load_n(&s->tag, __ATOMIC_ACQUIRE);

		if (t == 0 || (t == tag && !memcmp(s->digest, n->blake3, 32)))
			return s;
	}
	return NULL;
}

/* `fd` is the file `on_disk` describes (the same inode of the same device) */
static int same_file(int fd, const struct stat *on_disk)
{
	struct stat st;

	return fstat(fd, &st) == 0 && st.st_dev == on_disk->st_dev &&
	       st.st_ino == on_disk->st_ino;
}

/* The kept fd of `s` is not the file at the blob's path: point it there. */
static int renew(struct slot *s, uint32_t opcode, const struct mfs_image *img,
		 uint64_t nodeid, const struct mfs_inode *n,
		 const struct stat *on_disk, int *owned)
{
	int fd = mfs_blob_open(opcode, img, nodeid, n);

	if (fd < 0)
		return fd;
	pthread_mutex_lock(&g_insert);
	if (!same_file(s->fd, on_disk) && dup2(fd, s->fd) < 0) {
		int saved = errno;

		pthread_mutex_unlock(&g_insert);
		mfs_log("blob %s: dup2 onto the kept fd %d: %s: reading through "
			"a new fd", g_objects_dir, s->fd, strerror(saved));
		*owned = 1;
		return fd;
	}
	pthread_mutex_unlock(&g_insert);
	close(fd);
	return s->fd;
}

int mfs_blob_fd(uint32_t opcode, const struct mfs_image *img,
		uint64_t nodeid, const struct mfs_inode *n,
		const struct stat *on_disk, int *owned)
{
	uint64_t tag = mfs_image_blob_tag(n);
	struct slot *s = find(n, tag);
	int fd;

	*owned = 0;
	if (s && __atomic_load_n(&s->tag, __ATOMIC_ACQUIRE) == tag) {
		if (!on_disk || same_file(s->fd, on_disk))
			return s->fd;
		return renew(s, opcode, img, nodeid, n, on_disk, owned);
	}
	fd = mfs_blob_open(opcode, img, nodeid, n);
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&g_insert);
	s = find(n, tag);
	if (s && s->tag == tag) {
		/* another worker was first */
		pthread_mutex_unlock(&g_insert);
		close(fd);
		return s->fd;
	}
	if (!s) {
		pthread_mutex_unlock(&g_insert);
		*owned = 1;
		return fd;
	}
	memcpy(s->digest, n->blake3, 32);
	s->fd = fd;
	__atomic_store_n(&s->tag, tag, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&g_insert);
	return fd;
}

int mfs_blob_statvfs(struct statvfs *sv)
{
	return fstatvfs(g_objdir, sv);
}
