// SPDX-License-Identifier: Apache-2.0
/*
 * The keeper (keeper.h). Its two sockets:
 *   D/notify.sock  SOCK_DGRAM, the sd_notify protocol as systemd documents
 *                  it: "FDSTORE=1\nFDNAME=<name>\n" with the fds in
 *                  SCM_RIGHTS stores them under the name (replacing what
 *                  the name held); "FDSTOREREMOVE=1\nFDNAME=<name>\n"
 *                  closes them. Holders send there when NOTIFY_SOCKET
 *                  names it.
 *   D/fds.sock     SOCK_STREAM: "GET <name>\n" is answered "FDS <n>\n"
 *                  with the n fds in SCM_RIGHTS (n = 0: none); "LIST\n"
 *                  with "NAMES <name>...\n".
 * Every 5 s it drops fds whose connection is gone (poll: POLLERR, as
 * /dev/fuse reports after an unmount or an abort), as systemd's store does.
 * Calls handoff.c, log.c.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "handoff.h"
#include "keeper.h"
#include "log.h"

#define ENTRIES		256

struct entry {
	char name[256];
	int fds[MFS_HANDOFF_MAX_FDS];
	int n;
};

static struct entry g_entries[ENTRIES];
static volatile sig_atomic_t g_stop;

static void on_term(int sig)
{
	(void)sig;
	g_stop = 1;
}

static struct entry *find(const char *name, int create)
{
	struct entry *free_slot = NULL;
	int i;

	for (i = 0; i < ENTRIES; i++) {
		if (g_entries[i].n && !strcmp(g_entries[i].name, name))
			return &g_entries[i];
		if (!g_entries[i].n && !free_slot)
			free_slot = &g_entries[i];
	}
	if (create && free_slot)
		snprintf(free_slot->name, sizeof(free_slot->name), "%s", name);
	return create ? free_slot : NULL;
}

static void drop(struct entry *e, const char *why)
{
	int i;

	mfs_log("keeper: %s: closing %d fds (%s)", e->name, e->n, why);
	for (i = 0; i < e->n; i++)
		close(e->fds[i]);
	e->n = 0;
	e->name[0] = '\0';
}

static int bind_at(const char *dir, const char *name, int type)
{
	struct sockaddr_un sa;
	int fd, saved;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir,
			     name) >= sizeof(sa.sun_path)) {
		mfs_log("keeper: %s/%s: path too long", dir, name);
		return -1;
	}
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(sa.sun_path, 0600) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 16) < 0))
		goto fail;
	return fd;
fail:
	saved = errno;
	mfs_log("keeper: socket %s: %s", sa.sun_path, strerror(saved));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* one sd_notify datagram */
static void on_notify(int sock)
{
	int fds[MFS_HANDOFF_MAX_FDS], n = 0, i, store = 0, remove = 0;
	char buf[4096], name[256] = "", *line, *save;
	struct entry *e;
	ssize_t k;

	k = mfs_recv_fds(sock, buf, sizeof(buf) - 1, fds, &n,
			 MFS_HANDOFF_MAX_FDS, 0);
	if (k < 0) {
		int saved = errno;

		if (saved != EAGAIN && saved != ETIMEDOUT)
			mfs_log("keeper: recvmsg notify.sock: %s",
				strerror(saved));
		return;
	}
	buf[k] = '\0';
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(line, "FDSTORE=1"))
			store = 1;
		else if (!strcmp(line, "FDSTOREREMOVE=1"))
			remove = 1;
		else if (!strncmp(line, "FDNAME=", 7))
			snprintf(name, sizeof(name), "%s", line + 7);
	}
	if (!name[0])
		snprintf(name, sizeof(name), "stored");
	if (remove && (e = find(name, 0)))
		drop(e, "FDSTOREREMOVE");
	if (!store || n == 0) {
		for (i = 0; i < n; i++)
			close(fds[i]);
		return;
	}
	e = find(name, 1);
	if (!e) {
		mfs_log("keeper: no room for %s: refusing its fds", name);
		for (i = 0; i < n; i++)
			close(fds[i]);
		return;
	}
	/* the new fds first, then the old ones go: never a gap */
	{
		int old[MFS_HANDOFF_MAX_FDS], nold = e->n;

		if (nold == 0)
			mfs_log("keeper: holding %d fds as %s", n, name);

		memcpy(old, e->fds, sizeof(int) * nold);
		memcpy(e->fds, fds, sizeof(int) * n);
		e->n = n;
		for (i = 0; i < nold; i++)
			close(old[i]);
	}
}

static void on_client(int lsock)
{
	char req[512], rep[8192];
	size_t got = 0;
	struct entry *e;
	int fd, i;

	fd = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		int saved = errno;

		mfs_log("keeper: accept fds.sock: %s", strerror(saved));
		return;
	}
	while (got < sizeof(req) - 1 && !memchr(req, '\n', got)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (poll(&p, 1, 5000) <= 0)
			break;
		k = read(fd, req + got, sizeof(req) - 1 - got);
		if (k <= 0)
			break;
		got += k;
	}
	req[got] = '\0';
	req[strcspn(req, "\n")] = '\0';
	if (!strncmp(req, "GET ", 4)) {
		e = find(req + 4, 0);
		snprintf(rep, sizeof(rep), "FDS %d\n", e ? e->n : 0);
		if (mfs_send_fds(fd, rep, strlen(rep), e ? e->fds : NULL,
				 e ? e->n : 0) == 0 && e)
			mfs_log("keeper: gave %d fds of %s", e->n, e->name);
	} else if (!strcmp(req, "LIST")) {
		size_t o = snprintf(rep, sizeof(rep), "NAMES");

		for (i = 0; i < ENTRIES; i++)
			if (g_entries[i].n && o + 260 < sizeof(rep))
				o += snprintf(rep + o, sizeof(rep) - o, " %s",
					      g_entries[i].name);
		snprintf(rep + o, sizeof(rep) - o, "\n");
		if (write(fd, rep, strlen(rep)) < 0) {
			/* gone */
		}
	}
	close(fd);
}

/* drops fds whose connection ended (unmounted everywhere, or aborted) */
static void sweep(void)
{
	int i, j;

	for (i = 0; i < ENTRIES; i++) {
		struct entry *e = &g_entries[i];

		for (j = 0; e->n && j < e->n; j++) {
			struct pollfd p = { .fd = e->fds[j], .events = 0 };

			if (poll(&p, 1, 0) > 0 &&
			    (p.revents & (POLLERR | POLLHUP | POLLNVAL))) {
				drop(e, "the connection is gone");
				break;
			}
		}
	}
}

int mfs_keeper(const char *dir)
{
	struct sigaction sa;
	time_t last = time(NULL);
	int nsock, lsock, i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;	/* no SA_RESTART: poll returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	nsock = bind_at(dir, "notify.sock", SOCK_DGRAM);
	lsock = bind_at(dir, "fds.sock", SOCK_STREAM);
	if (nsock < 0 || lsock < 0)
		return 1;
	mfs_log("keeper: listening in %s (version %s)", dir, MFS_VERSION);
	while (!g_stop) {
		struct pollfd p[2] = {
			{ .fd = nsock, .events = POLLIN },
			{ .fd = lsock, .events = POLLIN },
		};

		if (poll(p, 2, 5000) < 0 && errno != EINTR) {
			int saved = errno;

			mfs_log("keeper: poll: %s", strerror(saved));
			break;
		}
		if (p[0].revents & POLLIN)
			on_notify(nsock);
		if (p[1].revents & POLLIN)
			on_client(lsock);
		if (time(NULL) - last >= 5) {
			sweep();
			last = time(NULL);
		}
	}
	for (i = 0; i < ENTRIES; i++)
		if (g_entries[i].n)
			drop(&g_entries[i], "the keeper stops");
	return 0;
}
