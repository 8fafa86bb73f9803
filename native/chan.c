// SPDX-License-Identifier: Apache-2.0
/*
 * Channel messages (chan.h): one record of a SOCK_SEQPACKET socket per
 * message. Calls log.c only.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "chan.h"
#include "log.h"

int mfs_chan_pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		int saved = errno;

		mfs_log("socketpair: %s", strerror(saved));
		errno = saved;
		return -1;
	}
	return 0;
}

int mfs_chan_send(int fd, const char *fmt, ...)
{
	char buf[MFS_CHAN_MAX];
	va_list ap;
	ssize_t k;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		errno = EMSGSIZE;
		return -1;
	}
	do
		k = send(fd, buf, n, MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	if (k != n) {
		int saved = errno;

		mfs_log("channel: send %.20s: %s", buf,
			k < 0 ? strerror(saved) : "short write");
		errno = saved;
		return -1;
	}
	return 0;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 +
	       (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

ssize_t mfs_chan_recv(int fd, char *buf, size_t len, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct timespec t0;
	ssize_t k;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int wait = timeout_ms;

		if (timeout_ms > 0) {
			wait = timeout_ms - elapsed_ms(&t0);
			if (wait < 0)
				wait = 0;
		}
		k = poll(&p, 1, wait);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		k = recv(fd, buf, len - 1, MSG_DONTWAIT);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k < 0) {
			/* a peer that died with the message unread */
			if (errno == ECONNRESET)
				return 0;
			return -1;
		}
		buf[k] = '\0';
		return k;
	}
}
