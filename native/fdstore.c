// SPDX-License-Identifier: Apache-2.0
/*
 * sd_notify FDSTORE / FDSTOREREMOVE, and fetching fds back from a keeper
 * (fdstore.h). The notify socket's address is a path, or "@name" for the
 * abstract namespace, as systemd documents for $NOTIFY_SOCKET. Calls
 * handoff.c, log.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fdstore.h"
#include "handoff.h"
#include "log.h"

static int notify_addr(struct sockaddr_un *sa, socklen_t *len)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t n;

	if (!path || !*path)
		return 1;
	n = strlen(path);
	if (n >= sizeof(sa->sun_path) || (path[0] != '/' && path[0] != '@')) {
		mfs_log("NOTIFY_SOCKET=%s: not a path or @abstract name",
			path);
		return -1;
	}
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n);
	if (path[0] == '@')
		sa->sun_path[0] = '\0';
	*len = offsetof(struct sockaddr_un, sun_path) + n;
	return 0;
}

static int notify(const char *msg, const int *fds, int n, int quiet)
{
	struct sockaddr_un sa;
	socklen_t salen;
	int fd, rc, saved;

	rc = notify_addr(&sa, &salen);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		saved = errno;
		mfs_log("notify socket: %s", strerror(saved));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, salen) < 0) {
		saved = errno;
		if (!quiet)
			mfs_log("connect NOTIFY_SOCKET %s: %s",
				getenv("NOTIFY_SOCKET"), strerror(saved));
		close(fd);
		return -1;
	}
	rc = mfs_send_fds(fd, msg, strlen(msg), fds, n);
	close(fd);
	return rc;
}

int mfs_fdstore_park(const char *name, const int *fds, int n, int quiet)
{
	char msg[512];
	int rc;

	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s\n", name);
	rc = notify(msg, fds, n, quiet);
	if (rc == 0 && !quiet)
		mfs_log("parked %d /dev/fuse fds in the fd store as %s (%s)",
			n, name, getenv("NOTIFY_SOCKET"));
	return rc;
}

int mfs_fdstore_drop(const char *name)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s\n", name);
	return notify(msg, NULL, 0, 0);
}

int mfs_keeper_fetch(const char *sock, const char *name, int *fds, int max,
		     char *err, size_t errlen)
{
	struct sockaddr_un sa;
	char req[512], rep[128];
	int fd, n = 0, want = -1, saved;
	ssize_t k;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "keeper socket path too long: %s", sock);
		return -1;
	}
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		saved = errno;
		snprintf(err, errlen, "connect %s: %s", sock, strerror(saved));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(req, sizeof(req), "GET %s\n", name);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		saved = errno;
		snprintf(err, errlen, "write %s: %s", sock, strerror(saved));
		close(fd);
		return -1;
	}
	k = mfs_recv_fds(fd, rep, sizeof(rep) - 1, fds, &n, max, 10000);
	saved = errno;
	close(fd);
	if (k <= 0) {
		snprintf(err, errlen, "no answer from %s: %s", sock,
			 k < 0 ? strerror(saved) : "closed");
		return -1;
	}
	rep[k] = '\0';
	if (sscanf(rep, "FDS %d", &want) != 1 || want != n) {
		snprintf(err, errlen, "keeper %s: %s for %s (%d fds came)",
			 sock, strtok(rep, "\n"), name, n);
		while (n > 0)
			close(fds[--n]);
		return -1;
	}
	return n;
}
