/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `state` file (HOLDER.md, "Passthrough state"): shared memory that the
 * holder creates and every daemon generation maps, so a successor takes
 * over the negotiated INIT and the per-inode backing ids of a dead daemon.
 * Machine-local (it holds a pthread mutex), never read by another program.
 */
#ifndef MFS_STATE_H
#define MFS_STATE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "view_image.h"

struct fuse_in_header;

#define MFS_STATE_MAGIC		"MFSSTAT1"
#define MFS_STATE_VERSION	1
#define MFS_RING_SIZE		256

struct mfs_inode_state {
	int32_t backing_id;		/* 0: none */
	uint32_t open_count;		/* live passthrough opens */
};

/* an OPEN or RELEASE whose effect is in the state */
struct mfs_done {
	uint64_t unique;		/* FUSE_UNIQUE_RESEND cleared */
	uint32_t opcode;
	uint32_t result;
};

struct mfs_state {
	char magic[8];
	uint32_t version;
	uint32_t inode_count;
	/*
	 * Robust and process-shared (a daemon can die holding it). The
	 * daemon's only lock: taken with nothing else held, in
	 * passthrough.c only (its head comment has the rules).
	 */
	pthread_mutex_t lock;
	uint32_t initialized;
	uint32_t passthrough;
	uint32_t proto_minor;
	uint32_t init_flags;
	uint32_t init_flags2;
	uint32_t ring_pos;
	struct mfs_done ring[MFS_RING_SIZE];
	struct mfs_inode_state inodes[];	/* [inode_count + 1] */
};

/* ---- passthrough.c ----------------------------------------------------- */

/* The holder: a fresh file for `inode_count` inodes; -1 with the reason. */
int mfs_state_create(const char *path, uint32_t inode_count, char *err,
		     size_t errlen);

/* The daemon: maps the holder's file for `img` (logs why not, -1). */
int mfs_state_map(const char *path, const struct mfs_image *img);
void mfs_state_unmap(void);
/* --no-passthrough: a successor turns off what an earlier INIT chose */
void mfs_state_no_passthrough(void);
int mfs_state_initialized(void);
/* INIT's outcome, kept for a resent INIT and for successors */
void mfs_state_set_init(int passthrough, uint32_t minor, uint32_t flags,
			uint32_t flags2);

/* reads go through passthrough (INIT chose it, no EPERM since) */
int mfs_pt_enabled(void);

/*
 * OPEN of regular file `h->nodeid` (`n`) with passthrough: its backing id
 * in *id (0), -errno when the blob cannot be opened, or 1 when passthrough
 * is refused for this open (the caller serves it itself). `devfd` is the
 * /dev/fuse fd the request came from.
 */
int mfs_pt_open(const struct fuse_in_header *h, int devfd,
		const struct mfs_inode *n, int32_t *id);

/* RELEASE of a passthrough open: the id is closed on the last one. */
void mfs_pt_release(const struct fuse_in_header *h, int devfd);

#endif
