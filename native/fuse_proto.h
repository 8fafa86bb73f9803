/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The FUSE protocol additions (7.36 .. 7.40) that the system's linux/fuse.h
 * (7.38 on Debian 12) lacks, under mfs_ names, so the build works with older
 * and newer headers alike. Everything else comes from linux/fuse.h.
 */
#ifndef MFS_FUSE_PROTO_H
#define MFS_FUSE_PROTO_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/fuse.h>

#define MFS_FUSE_MINOR_WANTED	40
#define MFS_FUSE_INIT_EXT	(1U << 30)
#define MFS_FUSE_PASSTHROUGH_2	(1U << 5)	/* flags2; 1ULL << 37 */
#define MFS_FOPEN_PASSTHROUGH	(1U << 7)
#define MFS_FUSE_NOTIFY_RESEND	7		/* a bare fuse_out_header */
#define MFS_FUSE_UNIQUE_RESEND	(1ULL << 63)	/* in a resent unique */
#define MFS_FUSE_STATX		52

/* fuse_init_out in the 7.40 layout */
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
_Static_assert(sizeof(struct mfs_init_out) == 64, "fuse_init_out 7.40");

/* fuse_open_out with the 7.40 backing_id */
struct mfs_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};
_Static_assert(sizeof(struct mfs_open_out) == 16, "fuse_open_out 7.40");

/* the argument of FUSE_DEV_IOC_BACKING_OPEN */
struct mfs_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};
_Static_assert(sizeof(struct mfs_backing_map) == 16, "fuse_backing_map");

#define MFS_DEV_IOC_MAGIC		229
#define MFS_DEV_IOC_CLONE		_IOR(MFS_DEV_IOC_MAGIC, 0, uint32_t)
#define MFS_DEV_IOC_BACKING_OPEN	_IOW(MFS_DEV_IOC_MAGIC, 1, \
					     struct mfs_backing_map)
#define MFS_DEV_IOC_BACKING_CLOSE	_IOW(MFS_DEV_IOC_MAGIC, 2, uint32_t)

#endif
