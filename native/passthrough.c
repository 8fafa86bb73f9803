// SPDX-License-Identifier: Apache-2.0
/*
 * Passthrough state (HOLDER.md, "Passthrough state"): the shared state file
 * and its robust lock, the ring of OPENs and RELEASEs already applied (so a
 * resent request is not applied twice), and one backing id with an open
 * count per nodeid. Calls blob.c, image.c, stats.c, log.c.
 *
 * Locks: state->lock is the only lock shared between processes. It is
 * taken with no other lock held, here only. It is held across the blob's
 * openat and BACKING_OPEN on the first open of a nodeid, so that two opens
 * (of this daemon, or of two daemons during a planned restart) never make
 * two ids for one inode (the kernel fails the second open with EIO); a
 * store on a network filesystem makes that openat the longest hold.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob.h"
#include "fuse_proto.h"
#include "log.h"
#include "state.h"
#include "stats_file.h"

#define WINDOW	(MFS_STATE_NODES_OFF + \
		 MFS_STATE_MAX_NODEIDS * sizeof(struct mfs_node_state))

static struct mfs_state *g_state;
static int g_state_fd = -1;
static int g_pt_refusal_logged;
static int g_backing_failure_logged;

static uint64_t round_capacity(uint64_t want)
{
	uint64_t cap = 4096;

	while (cap < want)
		cap *= 2;
	return cap;
}

static size_t file_size(uint64_t capacity)
{
	return MFS_STATE_NODES_OFF + capacity * sizeof(struct mfs_node_state);
}

static struct mfs_node_state *node(uint64_t nodeid)
{
	uint64_t cap = __atomic_load_n(&g_state->capacity, __ATOMIC_ACQUIRE);

	if (nodeid >= cap)
		return NULL;
	return (struct mfs_node_state *)((char *)g_state +
					 MFS_STATE_NODES_OFF) + nodeid;
}

int mfs_state_create(const char *path, uint64_t next_nodeid, char *err,
		     size_t errlen)
{
	uint64_t cap = round_capacity(next_nodeid);
	pthread_mutexattr_t ma;
	struct mfs_state *st;
	int fd, saved;

	if (next_nodeid > MFS_STATE_MAX_NODEIDS) {
		snprintf(err, errlen, "%s: %llu nodeids is more than %llu",
			 path, (unsigned long long)next_nodeid,
			 (unsigned long long)MFS_STATE_MAX_NODEIDS);
		return -1;
	}
	/* a fresh inode: a dead daemon may still map the old one */
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		saved = errno;
		snprintf(err, errlen, "open %s: %s", path, strerror(saved));
		return -1;
	}
	/* sparse: the slots cost nothing until a nodeid is opened */
	if (ftruncate(fd, file_size(cap)) < 0) {
		saved = errno;
		close(fd);
		snprintf(err, errlen, "ftruncate %s: %s", path,
			 strerror(saved));
		return -1;
	}
	st = mmap(NULL, MFS_STATE_NODES_OFF, PROT_READ | PROT_WRITE,
		  MAP_SHARED, fd, 0);
	saved = errno;
	close(fd);
	if (st == MAP_FAILED) {
		snprintf(err, errlen, "mmap %s: %s", path, strerror(saved));
		return -1;
	}
	memcpy(st->magic, MFS_STATE_MAGIC, 8);
	st->version = MFS_STATE_VERSION;
	st->nodes_off = MFS_STATE_NODES_OFF;
	st->capacity = cap;
	/* a daemon can die holding it: robust, and shared by processes */
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&st->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	munmap(st, MFS_STATE_NODES_OFF);
	return 0;
}

int mfs_state_map(const char *path)
{
	struct stat sb;
	void *p;
	int saved;

	g_state_fd = open(path, O_RDWR | O_CLOEXEC);
	if (g_state_fd < 0) {
		saved = errno;
		mfs_log("state file: open %s: %s", path, strerror(saved));
		return -1;
	}
	if (fstat(g_state_fd, &sb) < 0 ||
	    (size_t)sb.st_size < MFS_STATE_NODES_OFF) {
		mfs_log("state file %s: too small", path);
		goto bad;
	}
	/* the whole window once: growing the file never moves it */
	p = mmap(NULL, WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED,
		 g_state_fd, 0);
	if (p == MAP_FAILED) {
		saved = errno;
		mfs_log("state file: mmap %s: %s", path, strerror(saved));
		goto bad;
	}
	g_state = p;
	if (memcmp(g_state->magic, MFS_STATE_MAGIC, 8) ||
	    g_state->version != MFS_STATE_VERSION ||
	    g_state->nodes_off != MFS_STATE_NODES_OFF ||
	    file_size(g_state->capacity) > (size_t)sb.st_size) {
		mfs_log("state file %s is not a version %d state file (a "
			"daemon of another modelfs version made it)", path,
			MFS_STATE_VERSION);
		mfs_state_unmap();
		return -1;
	}
	return 0;
bad:
	close(g_state_fd);
	g_state_fd = -1;
	return -1;
}

void mfs_state_unmap(void)
{
	if (g_state)
		munmap(g_state, WINDOW);
	g_state = NULL;
	if (g_state_fd >= 0)
		close(g_state_fd);
	g_state_fd = -1;
}

static void state_lock(void)
{
	int rc = pthread_mutex_lock(&g_state->lock);

	if (rc == EOWNERDEAD) {
		mfs_log("state lock held by a dead daemon: taking it over");
		pthread_mutex_consistent(&g_state->lock);
	}
}

static void state_unlock(void)
{
	pthread_mutex_unlock(&g_state->lock);
}

int mfs_state_reserve(uint64_t next_nodeid)
{
	uint64_t cap;
	int rc = 0;

	if (next_nodeid > MFS_STATE_MAX_NODEIDS) {
		mfs_log("state file: %llu nodeids is more than %llu",
			(unsigned long long)next_nodeid,
			(unsigned long long)MFS_STATE_MAX_NODEIDS);
		return -1;
	}
	state_lock();
	if (g_state->capacity < next_nodeid) {
		cap = round_capacity(next_nodeid);
		if (ftruncate(g_state_fd, file_size(cap)) < 0) {
			int saved = errno;

			mfs_log("state file: ftruncate to %llu slots: %s",
				(unsigned long long)cap, strerror(saved));
			rc = -1;
		} else {
			__atomic_store_n(&g_state->capacity, cap,
					 __ATOMIC_RELEASE);
		}
	}
	state_unlock();
	return rc;
}

int32_t mfs_state_holder_pid(void)
{
	return __atomic_load_n(&g_state->holder_pid, __ATOMIC_ACQUIRE);
}

void mfs_state_set_holder_pid(int32_t pid)
{
	__atomic_store_n(&g_state->holder_pid, pid, __ATOMIC_RELEASE);
}

void mfs_state_set_daemon_pid(int32_t pid)
{
	__atomic_store_n(&g_state->daemon_pid, pid, __ATOMIC_RELEASE);
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
	__atomic_store_n(&g_state->initialized, 1, __ATOMIC_RELEASE);
	state_unlock();
}

uint32_t mfs_state_ids_open(void)
{
	return __atomic_load_n(&g_state->ids_open, __ATOMIC_ACQUIRE);
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

/* the gauge in the stats file follows the state (every daemon's ids) */
static void publish_ids_open(void)
{
	mfs_stats_set(MFS_C_BACKING_IDS_OPEN, g_state->ids_open);
}

int mfs_pt_open(const struct fuse_in_header *h, int devfd,
		const struct mfs_image *img, const struct mfs_inode *n,
		int32_t *id)
{
	uint64_t nodeid = h->nodeid, tag = mfs_image_blob_tag(n);
	struct mfs_node_state *st = node(nodeid);
	struct mfs_backing_map map;
	int fd, saved, rc;

	if (!st) {
		mfs_log("op=OPEN nodeid=%llu: beyond the state file's %llu "
			"slots: served by the daemon",
			(unsigned long long)nodeid,
			(unsigned long long)g_state->capacity);
		return 1;
	}
	state_lock();
	if (ring_seen(h) && st->backing_id > 0) {
		*id = st->backing_id;
		state_unlock();
		mfs_stats_count(MFS_C_RESENT, 1);
		return 0;
	}
	if (st->open_count > 0 && st->backing_id > 0) {
		if (st->blob_tag != tag) {
			/* one backing file per inode: the old one is live */
			state_unlock();
			return 2;
		}
		st->open_count++;
		*id = st->backing_id;
		ring_add(h);
		state_unlock();
		return 0;
	}
	fd = mfs_blob_open(h->opcode, img, nodeid, n);
	if (fd < 0) {
		state_unlock();
		return fd;
	}
	memset(&map, 0, sizeof(map));
	map.fd = fd;
	rc = ioctl(devfd, MFS_DEV_IOC_BACKING_OPEN, &map);
	saved = errno;
	if (rc > 0) {
		/* recorded before the reply that carries it */
		st->backing_id = rc;
		st->open_count = 1;
		st->blob_tag = tag;
		g_state->ids_open++;
		ring_add(h);
		publish_ids_open();
	}
	state_unlock();
	close(fd);
	if (rc <= 0) {
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
			mfs_image_path(img, nodeid, path, sizeof(path));
			mfs_log("op=OPEN nodeid=%llu path=%s BACKING_OPEN: "
				"%s: serving such opens from the daemon",
				(unsigned long long)nodeid, path,
				strerror(saved));
		}
		return 1;
	}
	*id = rc;
	return 0;
}

void mfs_pt_release(const struct fuse_in_header *h, int devfd)
{
	uint64_t nodeid = h->nodeid;
	struct mfs_node_state *st = node(nodeid);
	uint32_t close_id = 0;

	if (!st)
		return;
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
		st->blob_tag = 0;
		if (g_state->ids_open > 0)
			g_state->ids_open--;
		publish_ids_open();
	}
	ring_add(h);
	state_unlock();
	if (!close_id)
		return;
	if (ioctl(devfd, MFS_DEV_IOC_BACKING_CLOSE, &close_id) < 0) {
		int saved = errno;

		mfs_log("op=RELEASE nodeid=%llu BACKING_CLOSE %u: %s",
			(unsigned long long)nodeid, close_id, strerror(saved));
	}
}
