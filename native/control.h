/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's control loop (control.c; HOLDER.md, "The channel" and "No
 * single process to lose"), run by the main thread while the workers
 * serve: messages from the holder (refresh, go, stop, resend), the
 * holder's liveness (a pidfd), and the workers' end. When the holder dies
 * and no successor took over, it starts a new holder in adopt mode and
 * hands it the fds. Calls refresh.c, spawn.c, handoff.c, chan.c, notify.c,
 * passthrough.c, stats.c, log.c.
 */
#ifndef MFS_CONTROL_H
#define MFS_CONTROL_H

#include <signal.h>

struct mfs_daemon;

/* interrupts a worker's read() for a planned stop (no SA_RESTART) */
#define MFS_SIG_STOP	SIGUSR2

/* Runs until the daemon ends; every worker has left its loop on return.
 * The exit status: 0 unmounted, MFS_EXIT_STOPPED, 1 failed. */
int mfs_control_run(struct mfs_daemon *d);

#endif
