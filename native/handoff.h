/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Passing fds between processes (SCM_RIGHTS), and the handoff message a
 * holder (or a daemon that lost its holder) sends to the holder that takes
 * over (HOLDER.md, "Handing over the fds"). handoff.c; calls log.c only.
 */
#ifndef MFS_HANDOFF_H
#define MFS_HANDOFF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MFS_HANDOFF_MAGIC	"MFSHAND1"
#define MFS_HANDOFF_VERSION	1
#define MFS_HANDOFF_LISTEN	1	/* the control socket's listening fd */
#define MFS_HANDOFF_CHANNEL	2	/* the holder's end of the daemon channel */
#define MFS_HANDOFF_PIDFD	4	/* a pidfd of the daemon */
#define MFS_HANDOFF_MAX_FDS	32

/*
 * The data of the handoff message; its SCM_RIGHTS carry `nfuse` /dev/fuse
 * fds (the first one is the fd the mount was made with), then, in this
 * order, the fds its flags name.
 */
struct mfs_handoff {
	char magic[8];
	uint32_t version;
	uint32_t nfuse;
	int32_t daemon_pid;	/* 0: no daemon; the receiver starts one */
	uint32_t flags;
	uint32_t reserved[2];
	char daemon_bin[4096];	/* what the daemon was started from */
	char daemon_version[64];
};

/* sendmsg of `data` with `fds`; 0, or -1 logged */
int mfs_send_fds(int sock, const void *data, size_t len, const int *fds,
		 int nfds);
/*
 * recvmsg into `data` (at most `len`), fds into `fds` (*nfds of at most
 * `max`), waiting up to `timeout_ms` (-1 forever); the data length, 0 when
 * the peer closed, -1 with errno (ETIMEDOUT).
 */
ssize_t mfs_recv_fds(int sock, void *data, size_t len, int *fds, int *nfds,
		     int max, int timeout_ms);

#endif
