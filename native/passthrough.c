// SPDX-License-Identifier: Apache-2.0
/*
 * Passthrough state (HOLDER.md, "Passthrough state"): the shared state file
 * and its robust lock, the ring of OPENs and RELEASEs already applied (so a
 * resent request is not applied twice), and one backing id with an open
 * count per inode. Calls blob.c, image.c, stats.c, mapfile.c, log.c.
 *
 * Locks: state->lock is the only lock of the daemon (everything else is
 * atomics), so there is no order to keep: it is taken with nothing else
 * held, here only. It is held across the blob's openat and BACKING_OPEN
 * on the first open of an inode, so that two opens never make two ids for
 * one inode (the kernel fails the second open with EIO).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blob.h"
#include "fuse_proto.h"
#include "log.h"
#include "mapfile.h"
#include "state.h"
#include "stats_file.h"

static struct mfs_state *g_state;
static size_t g_state_size;
static const struct mfs_image *g_img;
static int g_pt_refusal_logged;
static int g_backing_failure_logged;

static size_t state_size(uint32_t inode_count)
{
	return sizeof(struct mfs_state) +
	       (inode_count + 1) * sizeof(struct mfs_inode_state);
}

int mfs_state_create(const char *path, uint32_t inode_count, char *err,
		     size_t errlen)
{
	size_t size = state_size(inode_count);
	struct mfs_state *st;
	pthread_mutexattr_t ma;

	st = mfs_map_file(path, size, 1, 0600, err, errlen);
	if (!st)
		return -1;
	memset(st, 0, size);
	memcpy(st->magic, MFS_STATE_MAGIC, 8);
	st->version = MFS_STATE_VERSION;
	st->inode_count = inode_count;
	/* a daemon can die holding it: robust, and shared by processes */
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&st->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	munmap(st, size);
	return 0;
}

int mfs_state_map(const char *path, const struct mfs_image *img)
{
	char err[512];

	g_img = img;
	g_state_size = state_size(img->inode_count);
	g_state = mfs_map_file(path, g_state_size, 0, 0, err, sizeof(err));
	if (!g_state) {
		mfs_log("state file: %s", err);
		return -1;
	}
	if (memcmp(g_state->magic, MFS_STATE_MAGIC, 8) ||
	    g_state->inode_count != img->inode_count) {
		mfs_log("state file %s does not match the view image", path);
		mfs_state_unmap();
		return -1;
	}
	return 0;
}

void mfs_state_unmap(void)
{
	munmap(g_state, g_state_size);
	g_state = NULL;
}

static int state_lock(void)
{
	int rc = pthread_mutex_lock(&g_state->lock);

	if (rc == EOWNERDEAD) {
		mfs_log("state lock held by a dead daemon: taking it over");
		pthread_mutex_consistent(&g_state->lock);
		rc = 0;
	}
	return rc;
}

static void state_unlock(void)
{
	pthread_mutex_unlock(&g_state->lock);
}

void mfs_state_no_passthrough(void)
{
	if (g_state->initialized)
		g_state->passthrough = 0;
}

int mfs_state_initialized(void)
{
	return __atomic_load_n(&g_state->initialized, __ATOMIC_ACQUIRE);
}

void mfs_state_set_init(int passthrough, uint32_t minor, uint32_t flags,
			uint32_t flags2)
{
	state_lock();
	g_state->passthrough = passthrough;
	g_state->proto_minor = minor;
	g_state->init_flags = flags;
	g_state->init_flags2 = flags2;
	g_state->initialized = 1;
	state_unlock();
}

int mfs_pt_enabled(void)
{
	return __atomic_load_n(&g_state->passthrough, __ATOMIC_ACQUIRE);
}

/* Resent requests may already have been acted on by a dead daemon. */
static int ring_seen(const struct fuse_in_header *h)
{
	uint64_t u = h->unique & ~MFS_FUSE_UNIQUE_RESEND;
	int i;

	if (!(h->unique & MFS_FUSE_UNIQUE_RESEND))
		return 0;
	for (i = 0; i < MFS_RING_SIZE; i++)
		if (g_state->ring[i].unique == u &&
		    g_state->ring[i].opcode == h->opcode)
			return 1;
	return 0;
}

static void ring_add(const struct fuse_in_header *h)
{
	struct mfs_done *d = &g_state->ring[g_state->ring_pos++ %
					     MFS_RING_SIZE];

	d->unique = h->unique & ~MFS_FUSE_UNIQUE_RESEND;
	d->opcode = h->opcode;
}

static void disable_passthrough(int err)
{
	__atomic_store_n(&g_state->passthrough, 0, __ATOMIC_RELEASE);
	mfs_stats_set_passthrough(0);
	if (!__atomic_exchange_n(&g_pt_refusal_logged, 1, __ATOMIC_ACQ_REL))
		mfs_log("passthrough refused (BACKING_OPEN: %s): reads are "
			"served by the daemon from now on", strerror(err));
}

int mfs_pt_open(const struct fuse_in_header *h, int devfd,
		const struct mfs_inode *n, int32_t *id)
{
	uint32_t ino = h->nodeid;
	struct mfs_inode_state *st = &g_state->inodes[ino];
	struct mfs_backing_map map;
	int fd, saved, rc;

	state_lock();
	if (ring_seen(h) && st->backing_id > 0) {
		*id = st->backing_id;
		state_unlock();
		mfs_stats_count(MFS_C_RESENT, 1);
		return 0;
	}
	if (st->open_count > 0 && st->backing_id > 0) {
		st->open_count++;
		*id = st->backing_id;
		ring_add(h);
		state_unlock();
		return 0;
	}
	fd = mfs_blob_open(h->opcode, ino, n);
	if (fd < 0) {
		state_unlock();
		return fd;
	}
	memset(&map, 0, sizeof(map));
	map.fd = fd;
	rc = ioctl(devfd, MFS_DEV_IOC_BACKING_OPEN, &map);
	saved = errno;
	close(fd);
	if (rc <= 0) {
		state_unlock();
		mfs_stats_count(MFS_C_BACKING_OPEN_FAILURES, 1);
		if (rc == 0)
			saved = EPROTO;
		if (saved == EPERM) {
			disable_passthrough(saved);
		} else if (!__atomic_exchange_n(&g_backing_failure_logged, 1,
						__ATOMIC_ACQ_REL)) {
			char path[4096];

			/* e.g. ELOOP: the store is on a stacked filesystem;
			 * logged once, counted in backing_open_failures */
			mfs_image_path(g_img, ino, path, sizeof(path));
			mfs_log("op=OPEN nodeid=%u path=%s BACKING_OPEN: %s: "
				"serving such opens from the daemon",
				ino, path, strerror(saved));
		}
		return 1;
	}
	/* recorded before the reply that carries it */
	st->backing_id = rc;
	st->open_count = 1;
	ring_add(h);
	state_unlock();
	mfs_stats_count(MFS_C_BACKING_IDS_OPEN, 1);
	*id = rc;
	return 0;
}

void mfs_pt_release(const struct fuse_in_header *h, int devfd)
{
	uint32_t ino = h->nodeid;
	struct mfs_inode_state *st = &g_state->inodes[ino];
	uint32_t close_id = 0;

	state_lock();
	if (ring_seen(h)) {
		state_unlock();
		mfs_stats_count(MFS_C_RESENT, 1);
		return;
	}
	if (st->open_count > 0 && --st->open_count == 0 &&
	    st->backing_id > 0) {
		/* clear it before closing: a successor never reuses it */
		close_id = st->backing_id;
		st->backing_id = 0;
	}
	ring_add(h);
	state_unlock();
	if (!close_id)
		return;
	if (ioctl(devfd, MFS_DEV_IOC_BACKING_CLOSE, &close_id) < 0) {
		int saved = errno;

		mfs_log("op=RELEASE nodeid=%u BACKING_CLOSE %u: %s", ino,
			close_id, strerror(saved));
	}
	mfs_stats_uncount(MFS_C_BACKING_IDS_OPEN, 1);
}
