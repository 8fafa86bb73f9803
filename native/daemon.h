/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's entry point (`modelfs-fused serve`), for main.c.
 */
#ifndef MFS_DAEMON_H
#define MFS_DAEMON_H

#include <stddef.h>

#define MFS_MAX_FDS		16	/* /dev/fuse fds = worker threads */

#ifndef MFS_VERSION
#define MFS_VERSION		"unknown"
#endif

struct mfs_req;
typedef void (*mfs_handler)(struct mfs_req *r);

struct mfs_serve_opts {
	const char *image_path;	/* <rundir>/view.img */
	const char *state_path;
	const char *stats_path;
	const char *rundir;	/* NULL: started by hand, no holder to adopt */
	const char *mountpoint;
	int fds[MFS_MAX_FDS];
	int nfds;
	int control_fd;		/* the holder's channel (chan.h), -1: none */
	int no_passthrough;
	int resend;
	int standby;		/* read nothing until the holder says go */
};

/*
 * ops.c: the handler of each opcode (NULL: ENOSYS). main() hands it to
 * mfs_serve(): the handlers call serve.c's replies, so serve.c does not
 * name them (no two files call each other).
 */
extern const mfs_handler mfs_ops[];
extern const size_t mfs_ops_count;

/*
 * serve.c: runs the daemon until the mount goes away (exit status 0) or
 * the holder stops it for a successor (MFS_EXIT_STOPPED); else 1.
 */
#define MFS_EXIT_STOPPED	3
int mfs_serve(const struct mfs_serve_opts *o, const mfs_handler *ops,
	      size_t nops);

#endif
