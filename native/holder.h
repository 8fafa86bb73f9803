/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The holder's entry point (`modelfs-fused mount`, holder.c), for main.c.
 */
#ifndef MFS_HOLDER_H
#define MFS_HOLDER_H

#include "daemon.h"

struct mfs_mount_opts {
	const char *image;	/* absolute paths */
	const char *rundir;
	const char *mountpoint;
	int threads;		/* 1..MFS_MAX_FDS */
	int no_passthrough;
	int ready_fd;		/* -1: none */
};

/* Mounts, serves through daemons until unmounted; the exit status. */
int mfs_holder(const struct mfs_mount_opts *o);

#endif
