/* SPDX-License-Identifier: Apache-2.0 */
/*
 * modelfs-fused: shared declarations of the holder, the daemon and the view
 * image reader. The protocol structures of FUSE 7.40 that the system's
 * linux/fuse.h (7.38 on Debian 12) lacks are defined here under mfs_ names,
 * so the build works with older and newer headers alike.
 */
#ifndef MFS_H
#define MFS_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <linux/fuse.h>

/* ---- FUSE protocol additions (7.36 .. 7.40) ---------------------------- */

#define MFS_FUSE_MINOR_WANTED	40
#define MFS_FUSE_INIT_EXT	(1U << 30)
#define MFS_FUSE_PASSTHROUGH_2	(1U << 5)	/* flags2; 1ULL << 37 */
#define MFS_FOPEN_PASSTHROUGH	(1U << 7)
#define MFS_FUSE_NOTIFY_RESEND	7
#define MFS_FUSE_UNIQUE_RESEND	(1ULL << 63)
#define MFS_FUSE_STATX		52

struct mfs_init_out {
	uint32_t major;
	uint32_t minor;
	uint32_t max_readahead;
	uint32_t flags;
	uint16_t max_background;
	uint16_t congestion_threshold;
	uint32_t max_write;
	uint32_t time_gran;
	uint16_t max_pages;
	uint16_t map_alignment;
	uint32_t flags2;
	uint32_t max_stack_depth;
	uint32_t unused[6];
};

struct mfs_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};

struct mfs_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};

#define MFS_DEV_IOC_MAGIC		229
#define MFS_DEV_IOC_CLONE		_IOR(MFS_DEV_IOC_MAGIC, 0, uint32_t)
#define MFS_DEV_IOC_BACKING_OPEN	_IOW(MFS_DEV_IOC_MAGIC, 1, \
					     struct mfs_backing_map)
#define MFS_DEV_IOC_BACKING_CLOSE	_IOW(MFS_DEV_IOC_MAGIC, 2, uint32_t)

/* ---- view image (VIEW_IMAGE.md) ----------------------------------------- */

#define MFS_IMAGE_MAGIC		"MFSVIEW1"
#define MFS_IMAGE_VERSION	1
#define MFS_IMAGE_HEADER_SIZE	128
#define MFS_INODE_SIZE		64
#define MFS_DIRENT_SIZE		16
#define MFS_INODE_INLINE	1	/* bytes are in the string table */

struct mfs_image_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint32_t inode_count;
	uint32_t dirent_count;
	uint64_t inodes_off;
	uint64_t dirents_off;
	uint64_t strings_off;
	uint64_t strings_size;
	uint32_t objects_dir_off;
	uint32_t objects_dir_len;
	int64_t mtime;
	uint8_t reserved[56];
};

struct mfs_inode {
	uint32_t mode;
	uint32_t nlink;
	uint64_t size;
	uint32_t parent;
	uint32_t a;		/* dir: 1st entry; symlink, inline: offset */
	uint32_t b;		/* dir: entries; symlink, inline: length */
	uint32_t flags;		/* MFS_INODE_INLINE */
	uint8_t blake3[32];
};

struct mfs_dirent {
	uint32_t name_off;
	uint32_t name_len;
	uint32_t ino;
	uint32_t reserved;
};

struct mfs_image {
	const uint8_t *base;
	size_t size;
	uint32_t inode_count;
	const struct mfs_inode *inodes;	/* inodes[ino - 1] */
	const struct mfs_dirent *dirents;
	const char *strings;
	uint64_t strings_size;
	const char *objects_dir;
	int64_t mtime;
};

int mfs_image_load(const char *path, struct mfs_image *img,
		   char *err, size_t errlen);
const struct mfs_inode *mfs_image_inode(const struct mfs_image *img,
					uint64_t ino);
uint32_t mfs_image_lookup(const struct mfs_image *img,
			  const struct mfs_inode *dir,
			  const char *name, size_t len);
void mfs_image_path(const struct mfs_image *img, uint32_t ino,
		    char *buf, size_t len);
void mfs_image_blob_name(const struct mfs_inode *ino, char out[68]);

/* ---- shared memory: per-inode state and counters (STATS.md) ------------- */

#define MFS_STATE_MAGIC		"MFSSTAT1"
#define MFS_RING_SIZE		256

struct mfs_inode_state {
	int32_t backing_id;
	uint32_t open_count;
};

struct mfs_done {
	uint64_t unique;
	uint32_t opcode;
	uint32_t result;
};

struct mfs_state {
	char magic[8];
	uint32_t version;
	uint32_t inode_count;
	pthread_mutex_t lock;		/* robust, process-shared */
	uint32_t initialized;
	uint32_t passthrough;
	uint32_t proto_minor;
	uint32_t init_flags;
	uint32_t init_flags2;
	uint32_t ring_pos;
	struct mfs_done ring[MFS_RING_SIZE];
	struct mfs_inode_state inodes[];	/* [inode_count + 1] */
};

#define MFS_STATS_SIZE		4096
#define MFS_STATS_VERSION	1
#define MFS_STATS_OPCODES	64
#define MFS_STATS_ERRNOS	256
#define MFS_STATS_BUCKETS	16

enum mfs_counter {
	MFS_C_OPENS,
	MFS_C_PASSTHROUGH_OPENS,
	MFS_C_FALLBACK_OPENS,
	MFS_C_FALLBACK_READS,
	MFS_C_FALLBACK_BYTES,
	MFS_C_BLOB_ERRORS,
	MFS_C_BACKING_OPEN_FAILURES,
	MFS_C_BACKING_IDS_OPEN,
	MFS_C_NEGATIVE_LOOKUPS,
	MFS_C_INTERRUPTS,
	MFS_C_RESENT,
	MFS_C_LATENCY_SUM_NS,
	MFS_C_LATENCY_COUNT,
	MFS_C_COUNT
};

struct mfs_stats {
	char magic[8];			/* "MFSSTAT1" */
	uint32_t version;
	uint32_t size;
	uint64_t start_ns;		/* CLOCK_REALTIME of the mount */
	uint32_t holder_pid;
	uint32_t daemon_pid;
	uint32_t passthrough;
	uint32_t daemon_starts;
	uint32_t proto_minor;
	uint32_t threads;
	uint8_t reserved0[128 - 48];
	uint64_t counters[16];			/* at 128 */
	uint64_t requests[MFS_STATS_OPCODES];	/* at 256 */
	uint64_t errors[MFS_STATS_ERRNOS];	/* at 768 */
	uint64_t latency[MFS_STATS_BUCKETS];	/* at 2816 */
	uint8_t reserved1[MFS_STATS_SIZE - 2944];
};

/* ---- processes ---------------------------------------------------------- */

#define MFS_MAX_FDS		16

struct mfs_serve_opts {
	const char *image_path;
	const char *state_path;
	const char *stats_path;
	int fds[MFS_MAX_FDS];
	int nfds;
	int no_passthrough;
	int resend;
};

int mfs_serve(const struct mfs_serve_opts *o);

#endif
