/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `state` file, version 2 (HOLDER.md, "Passthrough state"): shared
 * memory that the holder creates and every daemon generation maps, so a
 * successor (after a crash, a restart or an upgrade) takes over the
 * negotiated INIT and the per-nodeid backing ids. Machine-local (it holds a
 * pthread mutex), never read by another program.
 *
 * The per-nodeid table is indexed by nodeid. Nodeids only grow while a view
 * is mounted (a refresh gives new paths ids above the old maximum), so the
 * file is sparse: `capacity` slots exist, and a refresh that needs more
 * grows the file (ftruncate) under the lock. Every process maps a window of
 * MFS_STATE_MAX_NODEIDS slots once, so growing never moves a mapping.
 */
#ifndef MFS_STATE_H
#define MFS_STATE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "view_image.h"

struct fuse_in_header;

#define MFS_STATE_MAGIC		"MFSSTAT2"
#define MFS_STATE_VERSION	2
#define MFS_RING_SIZE		256
#define MFS_STATE_NODES_OFF	8192
#define MFS_STATE_MAX_NODEIDS	(1ULL << 26)

struct mfs_node_state {
	int32_t backing_id;		/* 0: none */
	uint32_t open_count;		/* live passthrough opens */
	uint64_t blob_tag;		/* mfs_image_blob_tag of its blob */
};
_Static_assert(sizeof(struct mfs_node_state) == 16, "node state");

/* an OPEN or RELEASE whose effect is in the state */
struct mfs_done {
	uint64_t unique;		/* FUSE_UNIQUE_RESEND cleared */
	uint32_t opcode;
	uint32_t result;
};

struct mfs_state {
	char magic[8];
	uint32_t version;
	uint32_t nodes_off;		/* MFS_STATE_NODES_OFF */
	uint64_t capacity;		/* slots in the file: nodeids < it */
	/*
	 * Robust and process-shared (a daemon can die holding it). Taken
	 * with no other lock held, in passthrough.c only (its head comment
	 * has the rules).
	 */
	pthread_mutex_t lock;
	uint32_t initialized;
	uint32_t passthrough;
	uint32_t proto_minor;
	uint32_t init_flags;
	uint32_t init_flags2;
	int32_t holder_pid;		/* the holder now; a successor writes its own */
	int32_t daemon_pid;		/* the daemon last started */
	uint32_t ids_open;		/* backing ids recorded below (gauge) */
	uint32_t ring_pos;
	uint32_t reserved;
	struct mfs_done ring[MFS_RING_SIZE];
	/* struct mfs_node_state nodes[capacity] at nodes_off */
};
_Static_assert(sizeof(struct mfs_state) <= MFS_STATE_NODES_OFF, "state head");

/* ---- passthrough.c ----------------------------------------------------- */

/*
 * The holder, at mount: a fresh file with slots for nodeids below
 * `next_nodeid`; -1 with the reason.
 */
int mfs_state_create(const char *path, uint64_t next_nodeid, char *err,
		     size_t errlen);

/* Holder and daemon: maps the file (logs why not, -1). */
int mfs_state_map(const char *path);
void mfs_state_unmap(void);
/* Slots for every nodeid below `next_nodeid` (grows the file); -1: no room */
int mfs_state_reserve(uint64_t next_nodeid);
int32_t mfs_state_holder_pid(void);
void mfs_state_set_holder_pid(int32_t pid);
void mfs_state_set_daemon_pid(int32_t pid);
/* --no-passthrough: a successor turns off what an earlier INIT chose */
void mfs_state_no_passthrough(void);
int mfs_state_initialized(void);
/* INIT's outcome, kept for a resent INIT and for successors */
void mfs_state_set_init(int passthrough, uint32_t minor, uint32_t flags,
			uint32_t flags2);
/* the backing ids the state holds now */
uint32_t mfs_state_ids_open(void);

/* reads go through passthrough (INIT chose it, no EPERM since) */
int mfs_pt_enabled(void);

/*
 * OPEN of regular file `h->nodeid` (`n`, from `img`) with passthrough: its
 * backing id in *id (0), -errno when the blob cannot be opened, 1 when
 * passthrough is refused for this open (the caller serves it itself, with
 * the page cache), or 2 when the nodeid has a live backing id on another
 * blob (its content changed in a refresh while an old open is live: the
 * caller serves it with FOPEN_DIRECT_IO). `devfd` is the /dev/fuse fd the
 * request came from.
 */
int mfs_pt_open(const struct fuse_in_header *h, int devfd,
		const struct mfs_image *img, const struct mfs_inode *n,
		int32_t *id);

/* RELEASE of a passthrough open: the id is closed on the last one. */
void mfs_pt_release(const struct fuse_in_header *h, int devfd);

#endif
