// SPDX-License-Identifier: Apache-2.0
/*
 * fork + exec of daemons and holders (spawn.h). The child gets exactly the
 * fds it is told about (FD_CLOEXEC cleared on those only), an empty signal
 * mask and default dispositions, and the parent's stderr (the log). Calls
 * log.c only.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "spawn.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open	434
#endif

int mfs_pidfd_open(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

int mfs_pid_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

int mfs_self_exe(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	if (n < 0) {
		int saved = errno;

		mfs_log("readlink /proc/self/exe: %s", strerror(saved));
		return -1;
	}
	buf[n] = '\0';
	/* a binary replaced on disk (an upgrade) reads "<path> (deleted)" */
	if (n > 10 && !strcmp(buf + n - 10, " (deleted)"))
		buf[n - 10] = '\0';
	return 0;
}

static pid_t spawn(const char *binary, char **argv, const int *keep, int n)
{
	pid_t pid = fork();
	int i;

	if (pid < 0) {
		int saved = errno;

		mfs_log("fork: %s", strerror(saved));
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		for (i = 0; i < n; i++)
			fcntl(keep[i], F_SETFD, 0);
		execv(binary, argv);
		mfs_log("exec %s: %s", binary, strerror(errno));
		_exit(127);
	}
	return pid;
}

pid_t mfs_spawn_daemon(const struct mfs_daemon_spawn *s)
{
	char img[PATH_MAX], state[PATH_MAX], stats[PATH_MAX], chan[16];
	char fdarg[MFS_MAX_FDS][16];
	const char *argv[32 + 2 * MFS_MAX_FDS];
	int keep[MFS_MAX_FDS + 1], nkeep = 0, a = 0, i;

	snprintf(img, sizeof(img), "%s/view.img", s->rundir);
	snprintf(state, sizeof(state), "%s/state", s->rundir);
	snprintf(stats, sizeof(stats), "%s/stats", s->rundir);
	argv[a++] = "modelfs-fused";
	argv[a++] = "serve";
	argv[a++] = "--image";
	argv[a++] = img;
	argv[a++] = "--state";
	argv[a++] = state;
	argv[a++] = "--stats";
	argv[a++] = stats;
	argv[a++] = "--rundir";
	argv[a++] = s->rundir;
	argv[a++] = "--mountpoint";
	argv[a++] = s->mountpoint;
	for (i = 0; i < s->nfds; i++) {
		snprintf(fdarg[i], sizeof(fdarg[i]), "%d", s->fds[i]);
		argv[a++] = "--fd";
		argv[a++] = fdarg[i];
		keep[nkeep++] = s->fds[i];
	}
	if (s->chan >= 0) {
		snprintf(chan, sizeof(chan), "%d", s->chan);
		argv[a++] = "--control-fd";
		argv[a++] = chan;
		keep[nkeep++] = s->chan;
	}
	if (s->no_passthrough)
		argv[a++] = "--no-passthrough";
	if (s->resend)
		argv[a++] = "--resend";
	if (s->standby)
		argv[a++] = "--standby";
	argv[a] = NULL;
	return spawn(s->binary, (char **)argv, keep, nkeep);
}

pid_t mfs_spawn_holder(const struct mfs_holder_spawn *s)
{
	char threads[16], hfd[16];
	const char *argv[24];
	int a = 0;

	snprintf(threads, sizeof(threads), "%d", s->threads);
	snprintf(hfd, sizeof(hfd), "%d", s->handoff_fd);
	argv[a++] = "modelfs-fused";
	argv[a++] = "hold";
	argv[a++] = "--rundir";
	argv[a++] = s->rundir;
	argv[a++] = "--mountpoint";
	argv[a++] = s->mountpoint;
	argv[a++] = "--threads";
	argv[a++] = threads;
	argv[a++] = "--handoff-fd";
	argv[a++] = hfd;
	if (s->no_passthrough)
		argv[a++] = "--no-passthrough";
	argv[a] = NULL;
	return spawn(s->binary, (char **)argv, &s->handoff_fd, 1);
}
