/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The channel between a holder and its daemon (HOLDER.md, "The channel"):
 * a SOCK_SEQPACKET socketpair, one text message per record, no NUL, at
 * most MFS_CHAN_MAX bytes. chan.c; calls log.c only.
 */
#ifndef MFS_CHAN_H
#define MFS_CHAN_H

#include <sys/types.h>

#define MFS_CHAN_MAX		8192
#define MFS_CHAN_PROTO		1	/* in the daemon's "ready" message */

/* socketpair(AF_UNIX, SOCK_SEQPACKET|SOCK_CLOEXEC); -1 logged */
int mfs_chan_pair(int sv[2]);
/* one message; 0, or -1 with errno (EPIPE: the peer is gone) */
int mfs_chan_send(int fd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * The next message into `buf` (NUL-terminated), waiting up to `timeout_ms`
 * (-1: forever, 0: only if one is there). Its length; 0 when the peer
 * closed; -1 with errno (ETIMEDOUT when none came).
 */
ssize_t mfs_chan_recv(int fd, char *buf, size_t len, int timeout_ms);

#endif
