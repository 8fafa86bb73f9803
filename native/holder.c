// SPDX-License-Identifier: Apache-2.0
/*
 * The holder (`modelfs-fused mount`, HOLDER.md): long-lived and small, it
 * never reads a request. It creates the state and stats files, opens
 * /dev/fuse, mounts, makes the clone fds and keeps them all open, starts the
 * daemon and restarts it when it dies, and writes the ready line for the
 * CLI. Calls passthrough.c and stats.c (to create their files), image.c,
 * log.c; it starts the daemon by exec, never by a call.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuse_proto.h"
#include "holder.h"
#include "log.h"
#include "state.h"
#include "stats_file.h"
#include "view_image.h"

#define RESTART_WINDOW_SEC	30
#define RESTART_MAX		5

static volatile sig_atomic_t g_stop;

static void write_pid(const char *rundir, const char *name, pid_t pid)
{
	char path[PATH_MAX], tmp[PATH_MAX], buf[32];
	int fd, n;

	snprintf(path, sizeof(path), "%s/%s", rundir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", rundir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		int saved = errno;

		mfs_log("open %s: %s", tmp, strerror(saved));
		return;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	if (write(fd, buf, n) != n || rename(tmp, path) < 0) {
		int saved = errno;

		mfs_log("write %s: %s", path, strerror(saved));
	}
	close(fd);
}

static void on_stop(int sig)
{
	(void)sig;
	g_stop = 1;
}

struct holder {
	const char *image;
	const char *rundir;
	const char *mountpoint;
	int threads;
	int no_passthrough;
	int ready_fd;
	int fds[MFS_MAX_FDS];
	char state_path[PATH_MAX];
	char stats_path[PATH_MAX];
};

/*
 * The ready line (HOLDER.md), written once on --ready-fd, which is closed
 * after: "ok <pid>", or "err <errno> <CODE> <message>".
 */
static void ready(struct holder *h, int err, const char *code,
		  const char *msg)
{
	char line[1024];
	int n;

	if (h->ready_fd < 0)
		return;
	if (err)
		n = snprintf(line, sizeof(line), "err %d %s %s\n", err, code,
			     msg);
	else
		n = snprintf(line, sizeof(line), "ok %d\n", (int)getpid());
	if (write(h->ready_fd, line, n) < 0) {
		/* the CLI went away; the log has the story */
	}
	close(h->ready_fd);
	h->ready_fd = -1;
}

/*
 * A failure before the mount serves: logged, and told to the CLI on the
 * ready line with its errno and code (MOUNT_NOT_ROOT, MOUNT_NO_FUSE,
 * MOUNT_BUSY, MOUNT_BAD_IMAGE, MOUNT_DAEMON_START or MOUNT_FAILED).
 * Returns the holder's exit status, 1.
 */
static int holder_fail(struct holder *h, int err, const char *code,
		       const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int holder_fail(struct holder *h, int err, const char *code,
		       const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mfs_log("%s", msg);
	ready(h, err, code, msg);
	return 1;
}

static pid_t spawn_daemon(struct holder *h, int resend)
{
	char self[PATH_MAX], fdarg[MFS_MAX_FDS][16];
	const char *argv[16 + 2 * MFS_MAX_FDS];
	ssize_t n;
	pid_t pid;
	int a = 0, i;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		int saved = errno;

		mfs_log("readlink /proc/self/exe: %s", strerror(saved));
		return -1;
	}
	self[n] = '\0';
	argv[a++] = "modelfs-fused";
	argv[a++] = "serve";
	argv[a++] = "--image";
	argv[a++] = h->image;
	argv[a++] = "--state";
	argv[a++] = h->state_path;
	argv[a++] = "--stats";
	argv[a++] = h->stats_path;
	for (i = 0; i < h->threads; i++) {
		snprintf(fdarg[i], sizeof(fdarg[i]), "%d", h->fds[i]);
		argv[a++] = "--fd";
		argv[a++] = fdarg[i];
	}
	if (h->no_passthrough)
		argv[a++] = "--no-passthrough";
	if (resend)
		argv[a++] = "--resend";
	argv[a] = NULL;

	pid = fork();
	if (pid < 0) {
		int saved = errno;

		mfs_log("fork: %s", strerror(saved));
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (i = 0; i < h->threads; i++)
			fcntl(h->fds[i], F_SETFD, 0);
		execv(self, (char **)argv);
		mfs_log("exec %s: %s", self, strerror(errno));
		_exit(127);
	}
	write_pid(h->rundir, "daemon.pid", pid);
	return pid;
}

static int init_files(struct holder *h, char *err, size_t errlen)
{
	struct mfs_image img;
	int rc = -1;

	if (mfs_image_load(h->image, &img, err, errlen) < 0)
		return -1;
	if (mfs_state_create(h->state_path, img.inode_count, err, errlen) < 0)
		goto out_image;
	if (mfs_stats_create(h->stats_path, h->threads, err, errlen) < 0)
		goto out_image;
	rc = 0;
out_image:
	munmap((void *)img.base, img.size);
	return rc;
}

static void remove_files(struct holder *h)
{
	static const char *const names[] = {
		"state", "stats", "holder.pid", "daemon.pid",
	};
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", h->rundir, names[i]);
		unlink(path);
	}
}

/*
 * Daemon-served reads arrive in readahead-sized requests, 128 KiB by
 * default: raise the mount's bdi readahead to 4 MiB so each request carries
 * max_pages (1 MiB) and several are in flight, one per worker. Found in
 * mountinfo, as a stat of the mountpoint would wait for INIT.
 */
static void set_readahead(const char *mountpoint)
{
	char line[8192], path[128], want[PATH_MAX + 2], dev[32] = "";
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int fd;

	if (!f)
		return;
	snprintf(want, sizeof(want), " %s ", mountpoint);
	while (fgets(line, sizeof(line), f)) {
		unsigned maj, min;

		if (!strstr(line, want) || !strstr(line, " - fuse.modelfs "))
			continue;
		if (sscanf(line, "%*u %*u %u:%u", &maj, &min) == 2)
			snprintf(dev, sizeof(dev), "%u:%u", maj, min);
	}
	fclose(f);
	if (!dev[0])
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "4096", 4) != 4) {
		int saved = errno;

		mfs_log("set %s: %s", path, strerror(saved));
	}
	if (fd >= 0)
		close(fd);
}

/* the ready line's code for a failed mount(2) */
static const char *mount_code(int err)
{
	if (err == EPERM || err == EACCES)
		return "MOUNT_NOT_ROOT";
	if (err == EBUSY)
		return "MOUNT_BUSY";
	return "MOUNT_FAILED";
}

static int holder_main(struct holder *h)
{
	struct sigaction sa;
	char opts[256], err[512];
	time_t window = 0;
	int restarts = 0, i, rc = 1, dev, status;
	uint32_t devnum;
	pid_t pid;

	if (geteuid() != 0)
		return holder_fail(h, EPERM, "MOUNT_NOT_ROOT", "mounting a "
				   "FUSE view needs root (CAP_SYS_ADMIN)");
	snprintf(h->state_path, sizeof(h->state_path), "%s/state", h->rundir);
	snprintf(h->stats_path, sizeof(h->stats_path), "%s/stats", h->rundir);
	if (init_files(h, err, sizeof(err)) < 0)
		return holder_fail(h, EINVAL, "MOUNT_BAD_IMAGE", "%s", err);

	dev = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		int saved = errno;

		holder_fail(h, saved, "MOUNT_NO_FUSE", "open /dev/fuse: %s",
			    strerror(saved));
		goto out_files;
	}
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0,"
		 "default_permissions,allow_other", dev);
	if (mount("modelfs", h->mountpoint, "fuse.modelfs",
		  MS_RDONLY | MS_NOSUID | MS_NODEV, opts) < 0) {
		int saved = errno;

		holder_fail(h, saved, mount_code(saved), "mount %s: %s",
			    h->mountpoint, strerror(saved));
		goto out_dev;
	}
	h->fds[0] = dev;
	set_readahead(h->mountpoint);
	for (i = 1; i < h->threads; i++) {
		h->fds[i] = open("/dev/fuse", O_RDWR | O_CLOEXEC);
		devnum = dev;
		if (h->fds[i] < 0 ||
		    ioctl(h->fds[i], MFS_DEV_IOC_CLONE, &devnum) < 0) {
			int saved = errno;

			mfs_log("clone /dev/fuse: %s: using %d threads",
				strerror(saved), i);
			if (h->fds[i] >= 0)
				close(h->fds[i]);
			h->threads = i;
			break;
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;	/* no SA_RESTART: waitpid returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	write_pid(h->rundir, "holder.pid", getpid());

	pid = spawn_daemon(h, 0);
	if (pid < 0) {
		holder_fail(h, EIO, "MOUNT_DAEMON_START",
			    "cannot start the daemon");
		umount2(h->mountpoint, MNT_DETACH);
		goto out_fds;
	}
	ready(h, 0, NULL, NULL);
	mfs_log("mounted %s (holder %d, daemon %d, %d fds)", h->mountpoint,
		(int)getpid(), (int)pid, h->threads);

	for (;;) {
		pid_t w = waitpid(pid, &status, 0);

		if (w < 0 && errno == EINTR) {
			if (g_stop == 1) {
				g_stop = 2;
				mfs_log("stop requested: detaching %s",
					h->mountpoint);
				if (umount2(h->mountpoint, MNT_DETACH) < 0) {
					int saved = errno;

					mfs_log("umount2 %s: %s",
						h->mountpoint,
						strerror(saved));
				}
			}
			continue;
		}
		if (w < 0) {
			int saved = errno;

			mfs_log("waitpid: %s", strerror(saved));
			break;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			rc = 0;
			break;
		}
		if (WIFSIGNALED(status))
			mfs_log("daemon %d killed by signal %d", (int)pid,
				WTERMSIG(status));
		else
			mfs_log("daemon %d exited with status %d", (int)pid,
				WEXITSTATUS(status));
		if (g_stop)
			break;
		if (time(NULL) - window > RESTART_WINDOW_SEC) {
			window = time(NULL);
			restarts = 0;
		}
		if (++restarts > RESTART_MAX) {
			mfs_log("daemon died %d times in %ds: giving up; the "
				"mount will answer ENOTCONN", RESTART_MAX,
				RESTART_WINDOW_SEC);
			break;
		}
		/* no other daemon is live: requeue what the dead one held */
		pid = spawn_daemon(h, 1);
		if (pid < 0)
			break;
		mfs_log("restarted the daemon as %d", (int)pid);
	}
out_fds:
	for (i = 1; i < h->threads; i++)
		close(h->fds[i]);
out_dev:
	close(dev);
out_files:
	remove_files(h);
	return rc;
}

int mfs_holder(const struct mfs_mount_opts *o)
{
	struct holder h;

	memset(&h, 0, sizeof(h));
	h.image = o->image;
	h.rundir = o->rundir;
	h.mountpoint = o->mountpoint;
	h.threads = o->threads;
	h.no_passthrough = o->no_passthrough;
	h.ready_fd = o->ready_fd;
	return holder_main(&h);
}
