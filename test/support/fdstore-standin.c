// SPDX-License-Identifier: Apache-2.0
/*
 * A stand-in for systemd's file descriptor store, for the tests (systemd is
 * not PID 1 on the build machines). It speaks the protocol as systemd
 * documents it (sd_notify(3), sd_listen_fds(3), "File Descriptor Store"):
 *
 *   - it binds a datagram socket and gives its path to the service as
 *     $NOTIFY_SOCKET;
 *   - "FDSTORE=1" with SCM_RIGHTS stores the fds, under "FDNAME=<name>"
 *     (default "stored"); an fd that is already stored (kcmp: the same open
 *     file) is not stored twice; "FDSTOREREMOVE=1" + "FDNAME=" closes them;
 *     fds that report POLLERR or POLLHUP are dropped (FDPOLL=1, the default);
 *   - each start of the service gets every stored fd from fd 3 on, with
 *     LISTEN_FDS=<n>, LISTEN_PID=<its pid>, LISTEN_FDNAMES=<names, ':'>.
 *
 * usage: fdstore-standin SOCKET -- COMMAND [ARG...]
 * Starts COMMAND once; SIGUSR1 starts it again (a service restart: the test
 * kills the old processes itself, as systemd kills a unit's cgroup);
 * SIGTERM ends the stand-in, closing every stored fd. One line per event on
 * stdout: "stored <name> <n>", "removed <name>", "dropped <name>",
 * "started <pid> <nfds>", "exited <pid> <status>".
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FDS 256
#define KCMP_FILE 0

static struct {
	int fd;
	char name[256];
} g_store[MAX_FDS];
static int g_n;
static char **g_cmd;

static int same_file(int a, int b)
{
	pid_t p = getpid();

	return syscall(SYS_kcmp, p, p, KCMP_FILE, a, b) == 0;
}

static void store(int fd, const char *name)
{
	int i;

	for (i = 0; i < g_n; i++)
		if (same_file(g_store[i].fd, fd)) {
			close(fd);
			return;
		}
	if (g_n == MAX_FDS) {
		close(fd);
		return;
	}
	g_store[g_n].fd = fd;
	snprintf(g_store[g_n].name, sizeof(g_store[g_n].name), "%s", name);
	g_n++;
}

static void remove_name(const char *name, const char *what)
{
	int i, j, n = 0;

	for (i = j = 0; i < g_n; i++) {
		if (!strcmp(g_store[i].name, name)) {
			close(g_store[i].fd);
			n++;
			continue;
		}
		g_store[j++] = g_store[i];
	}
	g_n = j;
	if (n)
		printf("%s %s\n", what, name);
}

static void on_datagram(int sock)
{
	char buf[4096], cbuf[CMSG_SPACE(sizeof(int) * 64)], name[256] = "stored";
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr m = { 0 };
	struct cmsghdr *c;
	int fds[64], n = 0, is_store = 0, is_remove = 0, i, before = g_n;
	char *line, *save;
	ssize_t k;

	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cbuf;
	m.msg_controllen = sizeof(cbuf);
	k = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	if (k < 0)
		return;
	buf[k] = '\0';
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			memcpy(fds + n, CMSG_DATA(c), sizeof(int) * cnt);
			n += cnt;
		}
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(line, "FDSTORE=1"))
			is_store = 1;
		else if (!strcmp(line, "FDSTOREREMOVE=1"))
			is_remove = 1;
		else if (!strncmp(line, "FDNAME=", 7))
			snprintf(name, sizeof(name), "%s", line + 7);
	}
	if (is_remove)
		remove_name(name, "removed");
	for (i = 0; i < n; i++) {
		if (is_store)
			store(fds[i], name);
		else
			close(fds[i]);
	}
	if (is_store)
		printf("stored %s %d\n", name, g_n - before);
	fflush(stdout);
}

/* FDPOLL=1: an fd whose other end is gone leaves the store */
static void sweep(void)
{
	int i;

	for (i = 0; i < g_n; i++) {
		struct pollfd p = { .fd = g_store[i].fd, .events = 0 };

		if (poll(&p, 1, 0) > 0 &&
		    (p.revents & (POLLERR | POLLHUP | POLLNVAL))) {
			char name[256];

			snprintf(name, sizeof(name), "%s", g_store[i].name);
			remove_name(name, "dropped");
			fflush(stdout);
			i = -1;
		}
	}
}

static void start(void)
{
	char names[MAX_FDS * 257] = "", num[32];
	pid_t pid;
	int i;

	for (i = 0; i < g_n; i++) {
		if (i)
			strcat(names, ":");
		strcat(names, g_store[i].name);
	}
	pid = fork();
	if (pid == 0) {
		sigset_t none;
		int copies[MAX_FDS];

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* out of the way of 3..3+n first, then into place */
		for (i = 0; i < g_n; i++)
			copies[i] = fcntl(g_store[i].fd, F_DUPFD_CLOEXEC, 3 + g_n);
		for (i = 0; i < g_n; i++) {
			dup2(copies[i], 3 + i);
			close(copies[i]);
		}
		if (g_n) {
			snprintf(num, sizeof(num), "%d", g_n);
			setenv("LISTEN_FDS", num, 1);
			snprintf(num, sizeof(num), "%d", (int)getpid());
			setenv("LISTEN_PID", num, 1);
			setenv("LISTEN_FDNAMES", names, 1);
		}
		execvp(g_cmd[0], g_cmd);
		perror("exec");
		_exit(127);
	}
	printf("started %d %d\n", (int)pid, g_n);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	sigset_t set;
	int sock, sfd;

	if (argc < 4 || strcmp(argv[2], "--")) {
		fprintf(stderr, "usage: fdstore-standin SOCKET -- COMMAND...\n");
		return 2;
	}
	g_cmd = argv + 3;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	unlink(argv[1]);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror(argv[1]);
		return 1;
	}
	setenv("NOTIFY_SOCKET", argv[1], 1);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	start();
	for (;;) {
		struct pollfd p[2] = { { sock, POLLIN, 0 }, { sfd, POLLIN, 0 } };
		struct signalfd_siginfo si;

		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN)
			on_datagram(sock);
		if ((p[1].revents & POLLIN) &&
		    read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGTERM)
				break;
			if (si.ssi_signo == SIGUSR1)
				start();
			if (si.ssi_signo == SIGCHLD) {
				int status;
				pid_t w;

				while ((w = waitpid(-1, &status, WNOHANG)) > 0)
					printf("exited %d %d\n", (int)w, status);
				fflush(stdout);
			}
		}
		sweep();
	}
	unlink(argv[1]);
	return 0;
}
