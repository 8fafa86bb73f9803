/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parking the /dev/fuse fds outside modelfs's own processes (HOLDER.md,
 * "The fd store"), so that losing every holder and daemon at once (a
 * service restart that kills the unit's processes, a container restart)
 * does not close the connection:
 * - systemd's file descriptor store: sd_notify "FDSTORE=1" with the fds
 *   over $NOTIFY_SOCKET (a datagram socket, SCM_RIGHTS); systemd hands them
 *   to the next start of the service (LISTEN_FDS, LISTEN_FDNAMES);
 * - a keeper (`modelfs-fused keep`, keeper.c) speaks the same datagrams on
 *   its notify socket and gives the fds back on its fds socket.
 * fdstore.c; calls handoff.c, log.c.
 */
#ifndef MFS_FDSTORE_H
#define MFS_FDSTORE_H

#include <stddef.h>

/* "FDSTORE=1\nFDNAME=<name>\n" with the fds: 0 sent, 1 no NOTIFY_SOCKET,
 * -1 failed (logged unless `quiet`) */
int mfs_fdstore_park(const char *name, const int *fds, int n, int quiet);
/* "FDSTOREREMOVE=1\nFDNAME=<name>\n": the view is gone */
int mfs_fdstore_drop(const char *name);
/*
 * From a keeper's fds socket (stream): "GET <name>\n", answered by
 * "FDS <n>\n" with n fds. The count, or -1 with the reason in `err`.
 */
int mfs_keeper_fetch(const char *sock, const char *name, int *fds, int max,
		     char *err, size_t errlen);

#endif
