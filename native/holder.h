/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The holder's entry points (`modelfs-fused mount` and `hold`, holder.c),
 * for main.c.
 */
#ifndef MFS_HOLDER_H
#define MFS_HOLDER_H

#include "daemon.h"

struct mfs_mount_opts {
	const char *image;	/* absolute paths; <rundir>/view.img */
	const char *rundir;
	const char *mountpoint;
	int threads;		/* 1..MFS_MAX_FDS */
	int no_passthrough;
	int ready_fd;		/* -1: none */
};

/*
 * A holder for a connection that exists already: its fds come from the
 * holder it replaces or a daemon that lost its holder (`handoff_fd`), from
 * the fd store through the CLI (`fuse_fds`), or from a keeper.
 */
struct mfs_hold_opts {
	const char *rundir;
	const char *mountpoint;
	int threads;
	int no_passthrough;
	int ready_fd;		/* -1: none */
	int handoff_fd;		/* -1: none */
	int fuse_fds[MFS_MAX_FDS];
	int nfuse;
	const char *keeper;	/* a keeper's fds socket, or NULL */
	const char *name;	/* the fds' name there */
};

/* Mounts, serves through daemons until unmounted; the exit status. */
int mfs_holder(const struct mfs_mount_opts *o);
/* Takes over a mounted connection; the exit status. */
int mfs_holder_adopt(const struct mfs_hold_opts *o);

#endif
