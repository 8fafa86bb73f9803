/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prefetch on open (prefetch.c): when a weight file (MFS_INODE_PREFETCH in
 * the image) is opened, a small pool of threads reads its blob ahead into
 * the page cache in large sequential requests, so a loader that maps the
 * file and touches tensors one by one finds them resident. With
 * passthrough the kernel reads the same blob inode, so one prefetch serves
 * every view and backend on the node.
 */
#ifndef MFS_PREFETCH_H
#define MFS_PREFETCH_H

#include "view_image.h"

/* Starts the pool; -1 (logged) when it cannot (the daemon serves without). */
int mfs_prefetch_setup(void);
/* Stops the pool: running prefetches end at their next chunk. */
void mfs_prefetch_teardown(void);

/*
 * An open of `n` is about to be answered: queue its blob unless one
 * prefetch of it is queued or running already, and submit the read of a
 * newly queued blob's first piece. Never waits for the blob's data (on a
 * cold blob, only for its block map).
 */
void mfs_prefetch_opened(const struct mfs_inode *n);
/* A release of `n`: when no open of its blob is left, its prefetch stops. */
void mfs_prefetch_released(const struct mfs_inode *n);

#endif
