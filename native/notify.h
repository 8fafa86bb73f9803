/* SPDX-License-Identifier: Apache-2.0 */
/*
 * FUSE notifications the daemon writes to /dev/fuse (notify.c; calls
 * log.c only): what a refresh invalidates, and RESEND after a crash. Write
 * them from a thread that serves no requests: INVAL_ENTRY waits for the
 * directory's lock, which a lookup in progress holds until it is answered.
 */
#ifndef MFS_NOTIFY_H
#define MFS_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

/*
 * Each returns 0 when the kernel dropped what it cached, 1 when it had
 * nothing cached (ENOENT), -1 on another error (logged).
 */
/* FUSE_NOTIFY_INVAL_ENTRY (3): the name `name` in directory `parent` */
int mfs_notify_inval_entry(int fd, uint64_t parent, const char *name,
			   size_t len);
/* FUSE_NOTIFY_INVAL_INODE (2): attributes and every cached page */
int mfs_notify_inval_inode(int fd, uint64_t nodeid);
/* FUSE_NOTIFY_RESEND (7): requests read but not answered are queued again */
int mfs_notify_resend(int fd);

#endif
