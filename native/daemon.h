/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's entry point (`modelfs-fused serve`), for main.c.
 */
#ifndef MFS_DAEMON_H
#define MFS_DAEMON_H

#include <stddef.h>

#define MFS_MAX_FDS		16	/* /dev/fuse fds = worker threads */

struct mfs_req;
typedef void (*mfs_handler)(struct mfs_req *r);

struct mfs_serve_opts {
	const char *image_path;
	const char *state_path;
	const char *stats_path;
	int fds[MFS_MAX_FDS];
	int nfds;
	int no_passthrough;
	int resend;
};

/*
 * ops.c: the handler of each opcode (NULL: ENOSYS). main() hands it to
 * mfs_serve(): the handlers call serve.c's replies, so serve.c does not
 * name them (no two files call each other).
 */
extern const mfs_handler mfs_ops[];
extern const size_t mfs_ops_count;

/* serve.c: runs the daemon until the mount goes away; the exit status */
int mfs_serve(const struct mfs_serve_opts *o, const mfs_handler *ops,
	      size_t nops);

#endif
