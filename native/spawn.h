/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Starting the other process of a mount (spawn.c; calls log.c only): the
 * holder starts daemons, a daemon that lost its holder starts a holder,
 * a holder being replaced starts its successor. Both are this same
 * executable in another mode (or another build of it, for an upgrade).
 */
#ifndef MFS_SPAWN_H
#define MFS_SPAWN_H

#include <sys/types.h>

#include "daemon.h"

struct mfs_daemon_spawn {
	const char *binary;	/* absolute path of modelfs-fused */
	const char *rundir;	/* view.img, state, stats are in it */
	const char *mountpoint;
	const int *fds;
	int nfds;
	int chan;		/* the daemon's end of the channel */
	int no_passthrough;
	int resend;		/* send FUSE_NOTIFY_RESEND first */
	int standby;		/* wait for "go" before reading */
};

struct mfs_holder_spawn {
	const char *binary;
	const char *rundir;
	const char *mountpoint;
	int threads;
	int no_passthrough;
	int handoff_fd;		/* its end of the handoff socket */
};

/* fork + exec; the child's pid, or -1 (logged) */
pid_t mfs_spawn_daemon(const struct mfs_daemon_spawn *s);
pid_t mfs_spawn_holder(const struct mfs_holder_spawn *s);

/* pidfd_open(2) (kernel 5.3+); -1 with errno */
int mfs_pidfd_open(pid_t pid);
/* the process exists and is not a zombie */
int mfs_pid_alive(pid_t pid);
/* /proc/self/exe, resolved: the binary this process runs */
int mfs_self_exe(char *buf, size_t len);

#endif
