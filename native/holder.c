// SPDX-License-Identifier: Apache-2.0
/*
 * The holder (`modelfs-fused mount` and `hold`, HOLDER.md): long-lived and
 * small, it never reads a request. It keeps every /dev/fuse fd of the
 * connection open, starts the daemon and starts another when it dies, and
 * is the mount's control point: a Unix socket in the runtime folder
 * (`control.sock`) takes refresh, restart and status requests from the CLI.
 * `mount` makes the mount (state and stats files, /dev/fuse, mount(2), the
 * clone fds); `hold` takes over a connection that exists (from the holder
 * it replaces, from a daemon whose holder died, or from an fd store).
 * Calls spawn.c, handoff.c, chan.c, fdstore.c, passthrough.c, stats.c,
 * image.c, log.c; it starts daemons and holders by exec, never by a call.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"
#include "fdstore.h"
#include "fuse_proto.h"
#include "handoff.h"
#include "holder.h"
#include "log.h"
#include "spawn.h"
#include "state.h"
#include "stats_file.h"
#include "view_image.h"

#define RESTART_WINDOW_SEC	30
#define RESTART_MAX		30
#define PARK_EVERY_MS		60000

enum { BYE_NONE, BYE_UNMOUNTED, BYE_FAILED };

/* a daemon: ours to reap when we started it */
struct dproc {
	pid_t pid;
	int pidfd;
	int chan;
	int child;
	int bye;
	char version[64];
};

struct holder {
	const char *rundir;
	const char *mountpoint;
	int threads;
	int no_passthrough;
	int ready_fd;
	int fds[MFS_MAX_FDS];
	int listen_fd;
	int sigfd;
	struct dproc cur;
	char self[PATH_MAX];		/* this holder's binary */
	char daemon_bin[PATH_MAX];	/* what daemons start from */
	char state_path[PATH_MAX];
	char stats_path[PATH_MAX];
	char sock_path[PATH_MAX];
	char name[128];			/* the fds' name in an fd store */
	time_t window;
	int restarts;
	int detached;			/* SIGTERM: detached, waiting for bye */
	time_t parked_at;
};

static void dproc_init(struct dproc *p)
{
	memset(p, 0, sizeof(*p));
	p->pidfd = p->chan = -1;
}

static void dproc_close(struct dproc *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	if (p->chan >= 0)
		close(p->chan);
	dproc_init(p);
}

static void write_pid(const char *rundir, const char *name, pid_t pid)
{
	char path[PATH_MAX], tmp[PATH_MAX], buf[32];
	int fd, n;

	snprintf(path, sizeof(path), "%s/%s", rundir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.%d.tmp", rundir, name,
		 (int)getpid());
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
		unlink(tmp);
	}
	close(fd);
}

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

static void paths(struct holder *h)
{
	const char *base = strrchr(h->rundir, '/');

	snprintf(h->state_path, sizeof(h->state_path), "%s/state", h->rundir);
	snprintf(h->stats_path, sizeof(h->stats_path), "%s/stats", h->rundir);
	snprintf(h->sock_path, sizeof(h->sock_path), "%s/control.sock",
		 h->rundir);
	/* one name per mount instance: its runtime folder's name */
	snprintf(h->name, sizeof(h->name), "modelfs-%s",
		 base ? base + 1 : h->rundir);
}

/* ---- daemons ------------------------------------------------------------ */

static int spawn_daemon(struct holder *h, const char *bin, int resend,
			int standby, struct dproc *out)
{
	struct mfs_daemon_spawn s;
	int sv[2];

	dproc_init(out);
	if (mfs_chan_pair(sv) < 0)
		return -1;
	memset(&s, 0, sizeof(s));
	s.binary = bin;
	s.rundir = h->rundir;
	s.mountpoint = h->mountpoint;
	s.fds = h->fds;
	s.nfds = h->threads;
	s.chan = sv[1];
	s.no_passthrough = h->no_passthrough;
	s.resend = resend;
	s.standby = standby;
	/* the state names the holder before any daemon reads it */
	mfs_state_set_holder_pid(getpid());
	out->pid = mfs_spawn_daemon(&s);
	close(sv[1]);
	if (out->pid < 0) {
		close(sv[0]);
		dproc_init(out);
		return -1;
	}
	out->chan = sv[0];
	out->child = 1;
	out->pidfd = mfs_pidfd_open(out->pid);
	if (out->pidfd < 0) {
		int saved = errno;

		mfs_log("pidfd_open daemon %d: %s", (int)out->pid,
			strerror(saved));
	}
	return 0;
}

/* exited: its pidfd is readable, or (no pidfd) waitpid says so */
static int exited(struct dproc *p, int timeout_ms)
{
	struct pollfd q = { .fd = p->pidfd, .events = POLLIN };

	if (p->pidfd >= 0)
		return poll(&q, 1, timeout_ms) > 0;
	return !mfs_pid_alive(p->pid);
}

/* Reaps a daemon we started (its status for the log); -1: not a child. */
static int reap(struct dproc *p)
{
	int status;

	if (!p->child || p->pid <= 0)
		return -1;
	if (waitpid(p->pid, &status, 0) != p->pid)
		return -1;
	p->child = 0;
	return status;
}

/*
 * The daemon's next message other than "bye", waiting up to `timeout_ms`;
 * -1 when it died or did not answer in time.
 */
static int wait_msg(struct dproc *p, char *buf, size_t len, int timeout_ms)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (p->chan >= 0) {
		struct pollfd q[2] = {
			{ .fd = p->chan, .events = POLLIN },
			{ .fd = p->pidfd, .events = POLLIN },
		};
		long left;
		ssize_t k;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = timeout_ms - ((t1.tv_sec - t0.tv_sec) * 1000 +
				     (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return -1;
		if (poll(q, 2, left > 1000 ? 1000 : left) < 0 &&
		    errno != EINTR)
			return -1;
		if (q[0].revents & (POLLIN | POLLHUP)) {
			k = mfs_chan_recv(p->chan, buf, len, 0);
			if (k <= 0)
				return -1;
			if (!strncmp(buf, "bye ", 4)) {
				p->bye = !strcmp(buf, "bye unmounted") ?
					 BYE_UNMOUNTED : BYE_FAILED;
				continue;
			}
			return 0;
		}
		if (q[1].revents & POLLIN)
			return -1;
		if (p->pidfd < 0 && !mfs_pid_alive(p->pid))
			return -1;
	}
	return -1;
}

static void set_current(struct holder *h, struct dproc *n)
{
	h->cur = *n;
	mfs_state_set_daemon_pid(n->pid);
	write_pid(h->rundir, "daemon.pid", n->pid);
}

/*
 * A daemon of ours with its "ready" message read: 0, else it is ended and
 * -1. `standby` daemons read nothing until told "go".
 */
static int start_daemon(struct holder *h, const char *bin, int resend,
			int standby, struct dproc *out)
{
	char msg[MFS_CHAN_MAX];
	int proto = 0;

	if (spawn_daemon(h, bin, resend, standby, out) < 0)
		return -1;
	if (wait_msg(out, msg, sizeof(msg), 30000) < 0 ||
	    sscanf(msg, "ready %d %63s", &proto, out->version) != 2 ||
	    proto != MFS_CHAN_PROTO) {
		mfs_log("daemon %d from %s did not start (%s)", (int)out->pid,
			bin, msg[0] ? msg : "no ready message");
		kill(out->pid, SIGKILL);
		reap(out);
		dproc_close(out);
		return -1;
	}
	return 0;
}

/* The daemon died on its own: start another with RESEND (rate-limited). */
static int replace_crashed(struct holder *h)
{
	struct dproc n;
	time_t now = time(NULL);

	if (now - h->window > RESTART_WINDOW_SEC) {
		h->window = now;
		h->restarts = 0;
	}
	while (++h->restarts <= RESTART_MAX) {
		/* no other daemon is live: requeue what the dead one held */
		if (start_daemon(h, h->daemon_bin, 1, 0, &n) == 0) {
			set_current(h, &n);
			mfs_log("restarted the daemon as %d", (int)n.pid);
			return 0;
		}
		if (strcmp(h->daemon_bin, h->self)) {
			mfs_log("falling back to this holder's binary %s",
				h->self);
			snprintf(h->daemon_bin, sizeof(h->daemon_bin), "%s",
				 h->self);
		}
	}
	mfs_log("daemon died %d times in %ds: giving up; the mount will "
		"answer ENOTCONN unless an fd store holds it", RESTART_MAX,
		RESTART_WINDOW_SEC);
	return -1;
}

/* ---- requests on the control socket -------------------------------------- */

/* s as a JSON string body (paths may hold quotes or backslashes) */
static void json_str(char *out, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s && o + 7 < len; s++) {
		unsigned char ch = *s;

		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = ch;
		} else if (ch < 0x20) {
			o += snprintf(out + o, len - o, "\\u%04x", ch);
		} else {
			out[o++] = ch;
		}
	}
	out[o] = '\0';
}

static void cmd_status(struct holder *h, char *reply, size_t len)
{
	char mp[2400], rd[2400], bin[2400];

	json_str(mp, sizeof(mp), h->mountpoint);
	json_str(rd, sizeof(rd), h->rundir);
	json_str(bin, sizeof(bin), h->daemon_bin);
	snprintf(reply, len,
		 "ok {\"holderPid\":%d,\"holderVersion\":\"%s\","
		 "\"daemonPid\":%d,\"daemonVersion\":\"%s\","
		 "\"daemonBinary\":\"%s\",\"threads\":%d,"
		 "\"mountpoint\":\"%s\",\"runtimeDir\":\"%s\","
		 "\"detached\":%s,\"fdStore\":%s}",
		 (int)getpid(), MFS_VERSION, (int)h->cur.pid, h->cur.version,
		 bin, h->threads, mp, rd, h->detached ? "true" : "false",
		 getenv("NOTIFY_SOCKET") ? "true" : "false");
}

static void cmd_forward(struct holder *h, const char *msg, char *reply,
			size_t len)
{
	if (h->cur.chan < 0 || mfs_chan_send(h->cur.chan, "%s", msg) < 0) {
		snprintf(reply, len, "err NO_DAEMON no daemon serves now");
		return;
	}
	if (wait_msg(&h->cur, reply, len, 300000) < 0)
		snprintf(reply, len, "err NO_DAEMON the daemon did not answer");
}

/*
 * A planned restart: a new daemon (from `bin`) prepares on standby, starts
 * reading, then the old one stops reading, finishes what it holds and
 * exits. Both serve for a moment; neither sends RESEND.
 */
static void cmd_restart_daemon(struct holder *h, const char *bin,
			       char *reply, size_t len)
{
	struct dproc n, old = h->cur;
	struct timespec t0, t1;
	char msg[MFS_CHAN_MAX], b[3000];
	pid_t old_pid;
	int died = 0;

	if (!*bin)
		bin = h->daemon_bin;
	if (bin[0] != '/' || access(bin, X_OK) < 0) {
		snprintf(reply, len, "err RESTART_NO_BINARY %.3000s is not "
			 "an executable absolute path", bin);
		return;
	}
	if (start_daemon(h, bin, 0, 1, &n) < 0) {
		snprintf(reply, len, "err RESTART_FAILED the new daemon from "
			 "%.3000s did not start (see daemon.log)", bin);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (mfs_chan_send(n.chan, "go") < 0 ||
	    wait_msg(&n, msg, sizeof(msg), 10000) < 0 ||
	    strcmp(msg, "going")) {
		kill(n.pid, SIGKILL);
		reap(&n);
		dproc_close(&n);
		snprintf(reply, len, "err RESTART_FAILED the new daemon did "
			 "not start serving");
		return;
	}
	if (old.chan < 0 || mfs_chan_send(old.chan, "stop") < 0 ||
	    wait_msg(&old, msg, sizeof(msg), 60000) < 0 ||
	    strcmp(msg, "stopped"))
		died = 1;
	if (!exited(&old, 10000)) {
		mfs_log("daemon %d did not exit after stop: killing it",
			(int)old.pid);
		kill(old.pid, SIGKILL);
		died = 1;
	}
	reap(&old);
	if (died && mfs_chan_send(n.chan, "resend") == 0)
		wait_msg(&n, msg, sizeof(msg), 10000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	old_pid = old.pid;
	dproc_close(&old);
	set_current(h, &n);
	snprintf(h->daemon_bin, sizeof(h->daemon_bin), "%.4000s", bin);
	json_str(b, sizeof(b), h->daemon_bin);
	mfs_log("daemon %d (%s) took over from daemon %d%s", (int)n.pid,
		n.version, (int)old_pid, died ? " after it died" : "");
	snprintf(reply, len,
		 "ok {\"daemonPid\":%d,\"daemonVersion\":\"%s\","
		 "\"previousPid\":%d,\"daemonBinary\":\"%s\",\"resent\":%s,"
		 "\"handoverUs\":%ld}",
		 (int)n.pid, n.version, (int)old_pid, b,
		 died ? "true" : "false",
		 (long)((t1.tv_sec - t0.tv_sec) * 1000000 +
			(t1.tv_nsec - t0.tv_nsec) / 1000));
}

/*
 * A planned holder replacement: a new holder (from `bin`) gets every fd
 * (the /dev/fuse fds, the control socket, the daemon's channel and pidfd)
 * over a socket; once it says ok, this one exits without cleaning up.
 * Returns 1 when this holder must now exit.
 */
static int cmd_restart_holder(struct holder *h, const char *bin,
			      char *reply, size_t len)
{
	struct mfs_holder_spawn s;
	struct mfs_handoff m;
	int fds[MFS_MAX_FDS + 3], n = 0, sv[2], i, newpid = 0;
	char msg[256];
	pid_t pid;

	if (!*bin)
		bin = h->self;
	if (bin[0] != '/' || access(bin, X_OK) < 0) {
		snprintf(reply, len, "err RESTART_NO_BINARY %.3000s is not "
			 "an executable absolute path", bin);
		return 0;
	}
	if (mfs_chan_pair(sv) < 0) {
		snprintf(reply, len, "err RESTART_FAILED socketpair");
		return 0;
	}
	memset(&s, 0, sizeof(s));
	s.binary = bin;
	s.rundir = h->rundir;
	s.mountpoint = h->mountpoint;
	s.threads = h->threads;
	s.no_passthrough = h->no_passthrough;
	s.handoff_fd = sv[1];
	pid = mfs_spawn_holder(&s);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		snprintf(reply, len, "err RESTART_FAILED cannot start %.3000s",
			 bin);
		return 0;
	}
	memset(&m, 0, sizeof(m));
	memcpy(m.magic, MFS_HANDOFF_MAGIC, 8);
	m.version = MFS_HANDOFF_VERSION;
	m.nfuse = h->threads;
	m.daemon_pid = h->cur.pid;
	snprintf(m.daemon_bin, sizeof(m.daemon_bin), "%s", h->daemon_bin);
	snprintf(m.daemon_version, sizeof(m.daemon_version), "%s",
		 h->cur.version);
	for (i = 0; i < h->threads; i++)
		fds[n++] = h->fds[i];
	m.flags |= MFS_HANDOFF_LISTEN;
	fds[n++] = h->listen_fd;
	if (h->cur.chan >= 0) {
		m.flags |= MFS_HANDOFF_CHANNEL;
		fds[n++] = h->cur.chan;
	}
	if (h->cur.pidfd >= 0) {
		m.flags |= MFS_HANDOFF_PIDFD;
		fds[n++] = h->cur.pidfd;
	}
	if (mfs_send_fds(sv[0], &m, sizeof(m), fds, n) < 0 ||
	    mfs_chan_recv(sv[0], msg, sizeof(msg), 30000) <= 0 ||
	    sscanf(msg, "ok %d", &newpid) != 1) {
		mfs_log("the new holder %d did not take over", (int)pid);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(sv[0]);
		snprintf(reply, len, "err RESTART_FAILED the new holder from "
			 "%.3000s did not take over (see daemon.log)", bin);
		return 0;
	}
	close(sv[0]);
	mfs_log("holder %d (from %s) took over: exiting", newpid, bin);
	snprintf(reply, len, "ok {\"holderPid\":%d,\"previousPid\":%d}",
		 newpid, (int)getpid());
	return 1;
}

/* One request per connection: a line in, a line out. 1: exit now. */
static int handle_client(struct holder *h)
{
	static char req[MFS_CHAN_MAX], reply[MFS_CHAN_MAX];
	struct pollfd q;
	size_t got = 0;
	int fd, quit = 0;
	char *nl = NULL;

	fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		int saved = errno;

		if (saved != EAGAIN && saved != EINTR)
			mfs_log("accept %s: %s", h->sock_path, strerror(saved));
		return 0;
	}
	q.fd = fd;
	q.events = POLLIN;
	while (got < sizeof(req) - 1 && !(nl = memchr(req, '\n', got))) {
		ssize_t k;

		if (poll(&q, 1, 5000) <= 0)
			break;
		k = read(fd, req + got, sizeof(req) - 1 - got);
		if (k <= 0)
			break;
		got += k;
	}
	if (!nl) {
		close(fd);
		return 0;
	}
	*nl = '\0';
	reply[0] = '\0';
	if (!strcmp(req, "status"))
		cmd_status(h, reply, sizeof(reply));
	else if (!strncmp(req, "refresh ", 8)) {
		char fwd[MFS_CHAN_MAX];

		snprintf(fwd, sizeof(fwd), "image %s", req + 8);
		cmd_forward(h, fwd, reply, sizeof(reply));
	}
	else if (!strcmp(req, "resend"))
		cmd_forward(h, "resend", reply, sizeof(reply));
	else if (!strncmp(req, "restart-daemon", 14))
		cmd_restart_daemon(h, req[14] == ' ' ? req + 15 : "", reply,
				   sizeof(reply));
	else if (!strncmp(req, "restart-holder", 14))
		quit = cmd_restart_holder(h, req[14] == ' ' ? req + 15 : "",
					  reply, sizeof(reply));
	else
		snprintf(reply, sizeof(reply), "err UNKNOWN %.60s", req);
	got = strlen(reply);
	reply[got++] = '\n';
	if (write(fd, reply, got) < 0) {
		/* the CLI went away */
	}
	close(fd);
	return quit;
}

static int open_listen(struct holder *h)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(h->sock_path) >= sizeof(sa.sun_path)) {
		mfs_log("control socket path too long: %s", h->sock_path);
		return -1;
	}
	strcpy(sa.sun_path, h->sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	/* a dead holder's socket file: nobody listens there any more */
	unlink(h->sock_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(h->sock_path, 0600) < 0 || listen(fd, 16) < 0)
		goto fail;
	return fd;
fail:
	{
		int saved = errno;

		mfs_log("control socket %s: %s", h->sock_path,
			strerror(saved));
		if (fd >= 0)
			close(fd);
	}
	return -1;
}

/* ---- the holder's life ---------------------------------------------------- */

static void remove_files(struct holder *h)
{
	static const char *const names[] = {
		"state", "stats", "holder.pid", "daemon.pid", "control.sock",
		"view.img", "mount.json", "daemon.log",
	};
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", h->rundir, names[i]);
		unlink(path);
	}
	/* the CLI removes the rest (metrics.pid) once our processes end */
	rmdir(h->rundir);
}

static int block_signals(struct holder *h)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	h->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (h->sigfd < 0) {
		int saved = errno;

		mfs_log("signalfd: %s", strerror(saved));
		return -1;
	}
	return 0;
}

/* this process holds the fds now: say so everywhere */
static void announce(struct holder *h)
{
	mfs_state_set_holder_pid(getpid());
	mfs_stats_holder_start();
	write_pid(h->rundir, "holder.pid", getpid());
	mfs_stats_set_parked(mfs_fdstore_park(h->name, h->fds,
					      h->threads, 0) == 0);
	h->parked_at = time(NULL);
}

/*
 * Park the fds again now and then: a keeper that restarted has lost them
 * (systemd keeps one copy of each, however often they come).
 */
static void repark(struct holder *h)
{
	if (time(NULL) - h->parked_at < PARK_EVERY_MS / 1000)
		return;
	h->parked_at = time(NULL);
	mfs_stats_set_parked(mfs_fdstore_park(h->name, h->fds,
					      h->threads, 1) == 0);
}

static void on_signal(struct holder *h)
{
	struct signalfd_siginfo si;

	while (read(h->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			int status;
			pid_t p;

			/* daemons we started, and holders that failed */
			while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
				if (p != h->cur.pid)
					continue;
				h->cur.child = 0;
				if (WIFSIGNALED(status))
					mfs_log("daemon %d killed by signal %d",
						(int)p, WTERMSIG(status));
				else if (WEXITSTATUS(status))
					mfs_log("daemon %d exited with status "
						"%d", (int)p,
						WEXITSTATUS(status));
			}
			continue;
		}
		if (h->detached)
			continue;
		h->detached = 1;
		mfs_log("stop requested: detaching %s; the daemon serves "
			"what still uses it and ends after the last user",
			h->mountpoint);
		if (umount2(h->mountpoint, MNT_DETACH) < 0) {
			int saved = errno;

			mfs_log("umount2 %s: %s", h->mountpoint,
				strerror(saved));
		}
	}
}

/* Serves control requests and watches the daemon until the end. */
static int run(struct holder *h)
{
	char msg[MFS_CHAN_MAX];

	for (;;) {
		struct pollfd q[4] = {
			{ .fd = h->listen_fd, .events = POLLIN },
			{ .fd = h->sigfd, .events = POLLIN },
			{ .fd = h->cur.chan, .events = POLLIN },
			{ .fd = h->cur.pidfd, .events = POLLIN },
		};

		if (poll(q, 4, h->cur.pidfd < 0 ? 1000 : PARK_EVERY_MS) < 0 &&
		    errno != EINTR) {
			int saved = errno;

			mfs_log("poll: %s", strerror(saved));
			return 1;
		}
		if (q[1].revents & POLLIN)
			on_signal(h);
		if (q[2].revents & (POLLIN | POLLHUP)) {
			ssize_t k = mfs_chan_recv(h->cur.chan, msg,
						  sizeof(msg), 0);

			if (k > 0 && !strcmp(msg, "bye unmounted"))
				h->cur.bye = BYE_UNMOUNTED;
			else if (k > 0 && !strncmp(msg, "bye ", 4))
				h->cur.bye = BYE_FAILED;
			else if (k > 0)
				mfs_log("daemon said: %.80s", msg);
			else if (k == 0) {
				close(h->cur.chan);
				h->cur.chan = -1;
			}
		}
		if ((q[3].revents & POLLIN) ||
		    (h->cur.pidfd < 0 && !mfs_pid_alive(h->cur.pid))) {
			/* read what it said before it went */
			while (h->cur.chan >= 0 &&
			       mfs_chan_recv(h->cur.chan, msg, sizeof(msg),
					     0) > 0)
				if (!strcmp(msg, "bye unmounted"))
					h->cur.bye = BYE_UNMOUNTED;
			reap(&h->cur);
			if (h->cur.bye == BYE_UNMOUNTED) {
				mfs_log("unmounted %s: exiting", h->mountpoint);
				return 0;
			}
			mfs_log("daemon %d is gone", (int)h->cur.pid);
			dproc_close(&h->cur);
			if (replace_crashed(h) < 0)
				return 1;
		}
		if (q[0].revents & POLLIN)
			if (handle_client(h))
				return 2;
		repark(h);
	}
}

/* The end of a holder: 2 = replaced (leave everything to the successor). */
static int finish(struct holder *h, int rc)
{
	int i;

	if (rc == 2)
		_exit(0);
	if (rc == 0) {
		mfs_fdstore_drop(h->name);
		remove_files(h);
	}
	for (i = 0; i < h->threads; i++)
		close(h->fds[i]);
	return rc;
}

/*
 * Daemon-served reads arrive in readahead-sized requests, 128 KiB by
 * default: raise the mount's bdi readahead to 4 MiB so each request carries
 * max_pages (1 MiB) and several are in flight, one per worker. Found in
 * mountinfo, as a stat of the mountpoint would wait for INIT; the device
 * number goes into the stats file (it names this mount instance).
 */
static void set_readahead(const char *mountpoint)
{
	char line[8192], path[128], want[PATH_MAX + 2], dev[32] = "";
	FILE *f = fopen("/proc/self/mountinfo", "re");
	unsigned maj = 0, min = 0;
	int fd;

	if (!f)
		return;
	snprintf(want, sizeof(want), " %s ", mountpoint);
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, want) || !strstr(line, " - fuse.modelfs "))
			continue;
		if (sscanf(line, "%*u %*u %u:%u", &maj, &min) == 2)
			snprintf(dev, sizeof(dev), "%u:%u", maj, min);
	}
	fclose(f);
	if (!dev[0])
		return;
	mfs_stats_set_dev(maj, min);
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

static int init_files(struct holder *h, const char *image, char *err,
		      size_t errlen)
{
	struct mfs_image img;
	int rc = -1;

	if (mfs_image_load(image, &img, err, errlen) < 0)
		return -1;
	if (mfs_state_create(h->state_path, img.next_nodeid, err, errlen) < 0)
		goto out;
	if (mfs_stats_create(h->stats_path, h->threads, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	mfs_image_free(&img);
	return rc;
}

static void holder_init(struct holder *h)
{
	memset(h, 0, sizeof(*h));
	h->listen_fd = h->sigfd = h->ready_fd = -1;
	dproc_init(&h->cur);
}

static int map_files(struct holder *h)
{
	if (mfs_state_map(h->state_path) < 0)
		return -1;
	if (mfs_stats_map(h->stats_path) < 0) {
		mfs_state_unmap();
		return -1;
	}
	return 0;
}

int mfs_holder(const struct mfs_mount_opts *o)
{
	struct holder h;
	char opts[256], err[512], want[PATH_MAX];
	uint32_t devnum;
	int i, dev, rc;

	holder_init(&h);
	h.rundir = o->rundir;
	h.mountpoint = o->mountpoint;
	h.threads = o->threads;
	h.no_passthrough = o->no_passthrough;
	h.ready_fd = o->ready_fd;
	paths(&h);
	if (geteuid() != 0)
		return holder_fail(&h, EPERM, "MOUNT_NOT_ROOT", "mounting a "
				   "FUSE view needs root (CAP_SYS_ADMIN)");
	snprintf(want, sizeof(want), "%s/view.img", h.rundir);
	if (strcmp(o->image, want))
		return holder_fail(&h, EINVAL, "MOUNT_BAD_IMAGE", "the view "
				   "image must be %s", want);
	if (mfs_self_exe(h.self, sizeof(h.self)) < 0)
		return holder_fail(&h, EIO, "MOUNT_DAEMON_START",
				   "cannot find this executable");
	snprintf(h.daemon_bin, sizeof(h.daemon_bin), "%s", h.self);
	if (init_files(&h, o->image, err, sizeof(err)) < 0)
		return holder_fail(&h, EINVAL, "MOUNT_BAD_IMAGE", "%s", err);
	if (map_files(&h) < 0)
		return holder_fail(&h, EINVAL, "MOUNT_BAD_IMAGE",
				   "cannot map the state and stats files");
	if (block_signals(&h) < 0)
		return holder_fail(&h, EIO, "MOUNT_FAILED", "signalfd failed");

	dev = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		int saved = errno;

		holder_fail(&h, saved, "MOUNT_NO_FUSE", "open /dev/fuse: %s",
			    strerror(saved));
		goto out_files;
	}
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0,"
		 "default_permissions,allow_other", dev);
	if (mount("modelfs", h.mountpoint, "fuse.modelfs",
		  MS_RDONLY | MS_NOSUID | MS_NODEV, opts) < 0) {
		int saved = errno;

		holder_fail(&h, saved, mount_code(saved), "mount %s: %s",
			    h.mountpoint, strerror(saved));
		close(dev);
		goto out_files;
	}
	h.fds[0] = dev;
	set_readahead(h.mountpoint);
	for (i = 1; i < h.threads; i++) {
		h.fds[i] = open("/dev/fuse", O_RDWR | O_CLOEXEC);
		devnum = dev;
		if (h.fds[i] < 0 ||
		    ioctl(h.fds[i], MFS_DEV_IOC_CLONE, &devnum) < 0) {
			int saved = errno;

			mfs_log("clone /dev/fuse: %s: using %d threads",
				strerror(saved), i);
			if (h.fds[i] >= 0)
				close(h.fds[i]);
			h.threads = i;
			break;
		}
	}
	h.listen_fd = open_listen(&h);
	announce(&h);
	if (start_daemon(&h, h.daemon_bin, 0, 0, &h.cur) < 0) {
		holder_fail(&h, EIO, "MOUNT_DAEMON_START",
			    "cannot start the daemon");
		umount2(h.mountpoint, MNT_DETACH);
		mfs_fdstore_drop(h.name);
		for (i = 0; i < h.threads; i++)
			close(h.fds[i]);
		goto out_files;
	}
	set_current(&h, &h.cur);
	ready(&h, 0, NULL, NULL);
	mfs_log("mounted %s (holder %d, daemon %d, %d fds, version %s)",
		h.mountpoint, (int)getpid(), (int)h.cur.pid, h.threads,
		MFS_VERSION);
	rc = run(&h);
	return finish(&h, rc);
out_files:
	unlink(h.state_path);
	unlink(h.stats_path);
	return 1;
}

/* The fds of a handoff message into the holder. */
static int take_handoff(struct holder *h, int sock, char *err, size_t len)
{
	int fds[MFS_HANDOFF_MAX_FDS], n = 0, k = 0, i;
	struct mfs_handoff m;
	ssize_t got;

	got = mfs_recv_fds(sock, &m, sizeof(m), fds, &n, MFS_HANDOFF_MAX_FDS,
			   30000);
	if (got < 0) {
		int saved = errno;

		snprintf(err, len, "receive the handoff: %s", strerror(saved));
		return -1;
	}
	if (got != (ssize_t)sizeof(m) || memcmp(m.magic, MFS_HANDOFF_MAGIC, 8) ||
	    m.version != MFS_HANDOFF_VERSION || m.nfuse < 1 ||
	    m.nfuse > MFS_MAX_FDS || (int)m.nfuse > n) {
		snprintf(err, len, "bad handoff message (%zd bytes, %d fds)",
			 got, n);
		for (i = 0; i < n; i++)
			close(fds[i]);
		return -1;
	}
	h->threads = m.nfuse;
	for (i = 0; i < (int)m.nfuse; i++)
		h->fds[i] = fds[k++];
	if ((m.flags & MFS_HANDOFF_LISTEN) && k < n)
		h->listen_fd = fds[k++];
	if ((m.flags & MFS_HANDOFF_CHANNEL) && k < n)
		h->cur.chan = fds[k++];
	if ((m.flags & MFS_HANDOFF_PIDFD) && k < n)
		h->cur.pidfd = fds[k++];
	while (k < n)
		close(fds[k++]);
	h->cur.pid = m.daemon_pid;
	if (h->cur.pid > 0 && h->cur.pidfd < 0)
		h->cur.pidfd = mfs_pidfd_open(h->cur.pid);
	m.daemon_version[sizeof(m.daemon_version) - 1] = '\0';
	m.daemon_bin[sizeof(m.daemon_bin) - 1] = '\0';
	snprintf(h->cur.version, sizeof(h->cur.version), "%s",
		 m.daemon_version);
	if (m.daemon_bin[0] == '/')
		snprintf(h->daemon_bin, sizeof(h->daemon_bin), "%s",
			 m.daemon_bin);
	return 0;
}

int mfs_holder_adopt(const struct mfs_hold_opts *o)
{
	struct holder h;
	char err[512];
	int i, rc;

	holder_init(&h);
	h.rundir = o->rundir;
	h.mountpoint = o->mountpoint;
	h.threads = o->threads;
	h.no_passthrough = o->no_passthrough;
	h.ready_fd = o->ready_fd;
	paths(&h);
	if (mfs_self_exe(h.self, sizeof(h.self)) < 0)
		return holder_fail(&h, EIO, "MOUNT_DAEMON_START",
				   "cannot find this executable");
	snprintf(h.daemon_bin, sizeof(h.daemon_bin), "%s", h.self);
	if (o->handoff_fd >= 0) {
		if (take_handoff(&h, o->handoff_fd, err, sizeof(err)) < 0) {
			mfs_log("adopt: %s", err);
			return 1;
		}
	} else if (o->keeper) {
		int n = mfs_keeper_fetch(o->keeper, o->name, h.fds,
					 MFS_MAX_FDS, err, sizeof(err));

		if (n <= 0)
			return holder_fail(&h, ENOENT, "MOUNT_DEAD", "%s",
					   n == 0 ? "the keeper has no fds "
					   "for this mount" : err);
		h.threads = n;
	} else {
		for (i = 0; i < o->nfuse; i++)
			h.fds[i] = o->fuse_fds[i];
		h.threads = o->nfuse;
	}
	for (i = 0; i < h.threads; i++)
		fcntl(h.fds[i], F_SETFD, FD_CLOEXEC);
	if (map_files(&h) < 0)
		return holder_fail(&h, EINVAL, "MOUNT_BAD_IMAGE",
				   "cannot map the state and stats files "
				   "of %s", h.rundir);
	if (block_signals(&h) < 0)
		return holder_fail(&h, EIO, "MOUNT_FAILED", "signalfd failed");
	if (h.listen_fd < 0)
		h.listen_fd = open_listen(&h);
	announce(&h);
	if (h.cur.pid <= 0 || !mfs_pid_alive(h.cur.pid)) {
		/* nobody serves: a daemon with RESEND takes the requests
		 * the dead one had read */
		dproc_close(&h.cur);
		if (start_daemon(&h, h.daemon_bin, 1, 0, &h.cur) < 0 &&
		    (strcmp(h.daemon_bin, h.self) ||
		     start_daemon(&h, h.self, 1, 0, &h.cur) < 0)) {
			holder_fail(&h, EIO, "MOUNT_DAEMON_START",
				    "cannot start a daemon");
			return finish(&h, 1);
		}
		set_current(&h, &h.cur);
	} else {
		write_pid(h.rundir, "daemon.pid", h.cur.pid);
	}
	if (o->handoff_fd >= 0) {
		char ok[32];
		int n = snprintf(ok, sizeof(ok), "ok %d", (int)getpid());

		if (send(o->handoff_fd, ok, n, MSG_NOSIGNAL) < 0) {
			/* the giver is gone; we hold the fds anyway */
		}
		close(o->handoff_fd);
	}
	ready(&h, 0, NULL, NULL);
	mfs_log("holding %s (holder %d, daemon %d, %d fds, version %s)",
		h.mountpoint, (int)getpid(), (int)h.cur.pid, h.threads,
		MFS_VERSION);
	rc = run(&h);
	return finish(&h, rc);
}
