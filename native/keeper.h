/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keeper (`modelfs-fused keep --dir D`, keeper.c; HOLDER.md, "The fd
 * store"): a minimal process that only holds /dev/fuse fds for modelfs's
 * holders where there is no systemd (a Kubernetes pod, a container), so a
 * restart of modelfs's own processes never closes a connection. It takes
 * sd_notify FDSTORE datagrams on D/notify.sock and gives fds back on
 * D/fds.sock. Calls handoff.c, log.c.
 */
#ifndef MFS_KEEPER_H
#define MFS_KEEPER_H

/* Runs until SIGTERM; the exit status. */
int mfs_keeper(const char *dir);

#endif
