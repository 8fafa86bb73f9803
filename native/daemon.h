/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's entry point (`modelfs-fused serve`, serve.c), for main.c.
 */
#ifndef MFS_DAEMON_H
#define MFS_DAEMON_H

#define MFS_MAX_FDS		16	/* /dev/fuse fds = worker threads */

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
