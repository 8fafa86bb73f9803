/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's blobs (blob.c): the objects dir fd, openat of a file's blob,
 * and the per-inode fd that daemon-served reads keep open.
 */
#ifndef MFS_BLOB_H
#define MFS_BLOB_H

#include <stdint.h>
#include <sys/statvfs.h>

#include "view_image.h"

/* Opens the image's objects dir and the fd table; logs why not, -1. */
int mfs_blob_setup(const struct mfs_image *img);
void mfs_blob_teardown(void);

/*
 * A new O_RDONLY fd on the blob of regular file `ino`, or -errno; a failure
 * is logged with `opcode`, the view path and the blob path, and counted in
 * blob_errors.
 */
int mfs_blob_open(uint32_t opcode, uint32_t ino, const struct mfs_inode *n);

/* The blob fd kept for daemon-served reads of `ino` (opened once). */
int mfs_blob_fd(uint32_t opcode, uint32_t ino, const struct mfs_inode *n);

/* statvfs of the store's filesystem, for STATFS */
int mfs_blob_statvfs(struct statvfs *sv);

#endif
