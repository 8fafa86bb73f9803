/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's blobs (blob.c): the objects dir fd, openat of a file's blob,
 * and the blob fds that daemon-served reads keep open, keyed by digest.
 */
#ifndef MFS_BLOB_H
#define MFS_BLOB_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "view_image.h"

/* Opens the objects dir and the fd cache; logs why not, -1. */
int mfs_blob_setup(const char *objects_dir);
void mfs_blob_teardown(void);

/*
 * A new O_RDONLY fd on the blob of regular file `nodeid` (`n`, in `img`),
 * or -errno; a failure is logged with `opcode`, the view path and the blob
 * path, and counted in blob_errors.
 */
int mfs_blob_open(uint32_t opcode, const struct mfs_image *img,
		  uint64_t nodeid, const struct mfs_inode *n);

/*
 * The blob fd kept for daemon-served reads of `n` (opened once per blob,
 * for the daemon's life), or -errno. With `on_disk` (an OPEN: what
 * mfs_blob_check found at the blob's path), a kept fd of another file (the
 * blob was replaced in the store) is renewed first. *owned is set when the
 * cache is full: the caller then closes the fd after use.
 */
int mfs_blob_fd(uint32_t opcode, const struct mfs_image *img,
		uint64_t nodeid, const struct mfs_inode *n,
		const struct stat *on_disk, int *owned);

/*
 * The size check of an OPEN: the blob of `n` must have the size the view
 * shows. A blob truncated (or grown) in the store would be served short,
 * with stat still showing the full size; so it is refused with EIO,
 * counted in blob_errors and logged with the view path. Returns 0 or
 * -errno (a blob that cannot be stat'ed: logged the same way); on 0, the
 * blob file's stat in *out when `out` is given.
 */
int mfs_blob_check(uint32_t opcode, const struct mfs_image *img,
		   uint64_t nodeid, const struct mfs_inode *n, struct stat *out);

/* A new O_RDONLY fd on the blob `digest`, or -errno; quiet (for prefetch). */
int mfs_blob_open_digest(const uint8_t digest[32]);

/* statvfs of the store's filesystem, for STATFS */
int mfs_blob_statvfs(struct statvfs *sv);

#endif
