// SPDX-License-Identifier: Apache-2.0
/*
 * SCM_RIGHTS: sending and receiving fds with a message (handoff.h). Calls
 * log.c only.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "handoff.h"
#include "log.h"

int mfs_send_fds(int sock, const void *data, size_t len, const int *fds,
		 int nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * MFS_HANDOFF_MAX_FDS)];
	struct iovec iov = { (void *)data, len };
	struct msghdr m;
	ssize_t k;

	if (nfds > MFS_HANDOFF_MAX_FDS) {
		mfs_log("send fds: %d fds is more than %d", nfds,
			MFS_HANDOFF_MAX_FDS);
		return -1;
	}
	memset(&m, 0, sizeof(m));
	memset(cbuf, 0, sizeof(cbuf));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	if (nfds > 0) {
		struct cmsghdr *c;

		m.msg_control = cbuf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		k = sendmsg(sock, &m, MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	if (k != (ssize_t)len) {
		int saved = errno;

		mfs_log("sendmsg with %d fds: %s", nfds,
			k < 0 ? strerror(saved) : "short write");
		return -1;
	}
	return 0;
}

ssize_t mfs_recv_fds(int sock, void *data, size_t len, int *fds, int *nfds,
		     int max, int timeout_ms)
{
	char cbuf[CMSG_SPACE(sizeof(int) * MFS_HANDOFF_MAX_FDS)];
	struct pollfd p = { .fd = sock, .events = POLLIN };
	struct iovec iov = { data, len };
	struct cmsghdr *c;
	struct msghdr m;
	ssize_t k;
	int r;

	*nfds = 0;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cbuf;
	m.msg_controllen = sizeof(cbuf);
	do
		k = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		int n, i, *in;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		in = (int *)CMSG_DATA(c);
		for (i = 0; i < n; i++) {
			if (*nfds < max)
				fds[(*nfds)++] = in[i];
			else
				close(in[i]);
		}
	}
	if (m.msg_flags & MSG_CTRUNC)
		mfs_log("recvmsg: fds were dropped (MSG_CTRUNC)");
	return k;
}
