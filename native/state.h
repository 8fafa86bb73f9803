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
#include <stdint.h>

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
	 * Robust and process-shared: a daemon can die holding it
	 * (EOWNERDEAD). The daemon's only lock: taken with no other held,
	 * so there is no order to keep (passthrough.c).
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

#endif
