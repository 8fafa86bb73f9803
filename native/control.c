// SPDX-License-Identifier: Apache-2.0
/*
 * The daemon's control loop (control.h), in the main thread while the
 * workers serve. Messages on the channel from the holder (HOLDER.md, "The
 * channel"):
 *   image <path>   switch to that view image (refresh.c); "ok {json}" or
 *                  "err <CODE> <message>"
 *   go             a standby daemon starts reading; "going"
 *   stop           stop reading, finish the requests in hand; "stopped",
 *                  then the daemon exits MFS_EXIT_STOPPED
 *   resend         FUSE_NOTIFY_RESEND; "ok"
 *   ping           "pong <pid> <version>"
 * and what the daemon says on its own: "ready <proto> <version> <pid>"
 * when it starts, "bye unmounted" when the mount is gone.
 *
 * The holder is watched with a pidfd. When it dies, a successor named in
 * the state file (a planned holder replacement) is watched instead; if
 * there is none, this daemon starts a new holder in adopt mode (`hold
 * --handoff-fd`) and hands it the fds and a new channel, so the connection
 * never depends on one process. Calls refresh.c, spawn.c, handoff.c,
 * chan.c, notify.c, passthrough.c, stats.c, log.c.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"
#include "control.h"
#include "handoff.h"
#include "log.h"
#include "notify.h"
#include "refresh.h"
#include "request.h"
#include "spawn.h"
#include "state.h"
#include "stats_file.h"

#define ADOPT_WINDOW_SEC	30
#define ADOPT_MAX		30

struct ctl {
	struct mfs_daemon *d;
	int chan;
	pid_t holder;
	int holder_pidfd;
	int going;
	time_t window;
	int adoptions;
	time_t next_try;
};

static void set_go(struct ctl *c)
{
	struct mfs_daemon *d = c->d;

	if (c->going)
		return;
	c->going = 1;
	mfs_stats_daemon_start(d->nworkers);
	mfs_state_set_daemon_pid(getpid());
	pthread_mutex_lock(&d->go_lock);
	d->go = 1;
	pthread_cond_broadcast(&d->go_cond);
	pthread_mutex_unlock(&d->go_lock);
	/* no other daemon is live: requeue what a dead one held */
	if (d->opts->resend)
		mfs_notify_resend(d->opts->fds[0]);
}

static int all_done(const struct mfs_daemon *d)
{
	int i;

	for (i = 0; i < d->nworkers; i++)
		if (!__atomic_load_n(&d->w[i].done, __ATOMIC_ACQUIRE))
			return 0;
	return 1;
}

/* Each worker finishes the request in hand and leaves its loop. */
static void stop_workers(struct mfs_daemon *d)
{
	struct timespec ms = { 0, 1000000 };
	int i, rounds = 0;

	__atomic_store_n(&d->stop, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&d->go_lock);
	d->go = 1;
	pthread_cond_broadcast(&d->go_cond);
	pthread_mutex_unlock(&d->go_lock);
	/*
	 * Again and again: a signal that lands between a worker's check of
	 * d->stop and its read() would be lost.
	 */
	while (!all_done(d)) {
		for (i = 0; i < d->nworkers; i++)
			if (!__atomic_load_n(&d->w[i].done, __ATOMIC_ACQUIRE))
				pthread_kill(d->w[i].thread, MFS_SIG_STOP);
		nanosleep(&ms, NULL);
		if (++rounds % 5000 == 0)
			mfs_log("stop: a worker is still in a request after "
				"%d s", rounds / 1000);
	}
}

static void watch(struct ctl *c, pid_t pid)
{
	if (c->holder_pidfd >= 0)
		close(c->holder_pidfd);
	c->holder = pid;
	c->holder_pidfd = pid > 0 ? mfs_pidfd_open(pid) : -1;
	if (pid > 0 && c->holder_pidfd < 0) {
		int saved = errno;

		/* gone already (ESRCH); without pidfds (kernel < 5.3) the
		 * loop looks at /proc once a second instead */
		if (saved == ESRCH)
			c->holder = 0;
		else
			mfs_log("pidfd_open holder %d: %s", (int)pid,
				strerror(saved));
	}
}

/* Starts a holder in adopt mode and hands it the fds; 0 when it took them. */
static int adopt(struct ctl *c)
{
	const struct mfs_serve_opts *o = c->d->opts;
	struct mfs_holder_spawn hs;
	struct mfs_handoff m;
	int fds[MFS_MAX_FDS + 1], hsock[2], csock[2], i;
	char bin[PATH_MAX], reply[256];
	time_t now = time(NULL);
	pid_t pid;

	if (now - c->window > ADOPT_WINDOW_SEC) {
		c->window = now;
		c->adoptions = 0;
	}
	if (++c->adoptions > ADOPT_MAX) {
		mfs_log("the holder died %d times in %ds: serving without "
			"one; modelfs up starts a new one", ADOPT_MAX,
			ADOPT_WINDOW_SEC);
		c->next_try = now + ADOPT_WINDOW_SEC;
		return -1;
	}
	if (mfs_self_exe(bin, sizeof(bin)) < 0)
		return -1;
	if (mfs_chan_pair(hsock) < 0)
		return -1;
	if (mfs_chan_pair(csock) < 0) {
		close(hsock[0]);
		close(hsock[1]);
		return -1;
	}
	memset(&hs, 0, sizeof(hs));
	hs.binary = bin;
	hs.rundir = o->rundir;
	hs.mountpoint = o->mountpoint;
	hs.threads = o->nfds;
	hs.no_passthrough = o->no_passthrough;
	hs.handoff_fd = hsock[1];
	pid = mfs_spawn_holder(&hs);
	close(hsock[1]);
	if (pid < 0)
		goto fail;
	memset(&m, 0, sizeof(m));
	memcpy(m.magic, MFS_HANDOFF_MAGIC, 8);
	m.version = MFS_HANDOFF_VERSION;
	m.nfuse = o->nfds;
	m.daemon_pid = getpid();
	m.flags = MFS_HANDOFF_CHANNEL;
	snprintf(m.daemon_bin, sizeof(m.daemon_bin), "%s", bin);
	snprintf(m.daemon_version, sizeof(m.daemon_version), "%s",
		 MFS_VERSION);
	for (i = 0; i < o->nfds; i++)
		fds[i] = o->fds[i];
	fds[i++] = csock[1];
	if (mfs_send_fds(hsock[0], &m, sizeof(m), fds, i) < 0 ||
	    mfs_chan_recv(hsock[0], reply, sizeof(reply), 15000) <= 0 ||
	    strncmp(reply, "ok ", 3)) {
		mfs_log("the new holder %d did not take the fds", (int)pid);
		kill(pid, SIGKILL);
		goto fail;
	}
	close(hsock[0]);
	close(csock[1]);
	if (c->chan >= 0)
		close(c->chan);
	c->chan = csock[0];
	watch(c, pid);
	mfs_log("holder gone: started holder %d (adopt mode) and handed it "
		"%d /dev/fuse fds", (int)pid, o->nfds);
	return 0;
fail:
	close(hsock[0]);
	close(csock[0]);
	close(csock[1]);
	c->next_try = time(NULL) + 1;
	return -1;
}

static void holder_gone(struct ctl *c)
{
	pid_t next = mfs_state_holder_pid();

	if (next > 0 && next != c->holder && mfs_pid_alive(next)) {
		/* a planned replacement: the channel went to it */
		mfs_log("holder %d was replaced by holder %d", (int)c->holder,
			(int)next);
		watch(c, next);
		return;
	}
	mfs_log("holder %d is gone", (int)c->holder);
	watch(c, 0);
	if (!c->d->opts->rundir)
		mfs_log("started by hand (no --rundir): serving without a "
			"holder");
	/* the loop calls adopt() now, and again after a failure */
}

/* Handles one channel message; -1 to go on, else the exit status. */
static int handle(struct ctl *c, char *msg)
{
	struct mfs_daemon *d = c->d;
	static char reply[MFS_CHAN_MAX];

	if (!strncmp(msg, "image ", 6)) {
		mfs_refresh(d, msg + 6, reply, sizeof(reply));
		mfs_chan_send(c->chan, "%s", reply);
	} else if (!strcmp(msg, "go")) {
		set_go(c);
		mfs_chan_send(c->chan, "going");
	} else if (!strcmp(msg, "stop")) {
		mfs_log("stop requested: finishing the requests in hand");
		stop_workers(d);
		mfs_log("stopped: a successor serves the mount");
		mfs_chan_send(c->chan, "stopped");
		return MFS_EXIT_STOPPED;
	} else if (!strcmp(msg, "resend")) {
		mfs_notify_resend(d->opts->fds[0]);
		mfs_chan_send(c->chan, "ok");
	} else if (!strcmp(msg, "ping")) {
		mfs_chan_send(c->chan, "pong %d %s", (int)getpid(),
			      MFS_VERSION);
	} else {
		mfs_log("channel: unknown message %.40s", msg);
		mfs_chan_send(c->chan, "err UNKNOWN %.40s", msg);
	}
	return -1;
}

int mfs_control_run(struct mfs_daemon *d)
{
	const struct mfs_serve_opts *o = d->opts;
	struct ctl c;
	char msg[MFS_CHAN_MAX];

	memset(&c, 0, sizeof(c));
	c.d = d;
	c.chan = o->control_fd;
	c.holder_pidfd = -1;
	watch(&c, mfs_state_holder_pid());
	if (c.chan >= 0)
		mfs_chan_send(c.chan, "ready %d %s %d", MFS_CHAN_PROTO,
			      MFS_VERSION, (int)getpid());
	if (!o->standby)
		set_go(&c);
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = c.chan, .events = POLLIN },
			{ .fd = c.holder_pidfd, .events = POLLIN },
			{ .fd = d->done_efd, .events = POLLIN },
		};
		uint64_t n;
		int rc;

		if (poll(p, 3, 1000) < 0 && errno != EINTR) {
			int saved = errno;

			mfs_log("control poll: %s", strerror(saved));
		}
		/* adopted holders are this daemon's children */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (p[2].revents & POLLIN) {
			if (read(d->done_efd, &n, sizeof(n)) < 0) {
				/* drained already */
			}
		}
		if (all_done(d)) {
			int i, gone = 0;

			for (i = 0; i < d->nworkers; i++)
				if (d->w[i].end_errno == ENODEV ||
				    d->w[i].end_errno == ECONNABORTED)
					gone = 1;
			mfs_log(gone ? "unmounted: exiting" :
				       "every worker failed: exiting");
			if (c.chan >= 0)
				mfs_chan_send(c.chan, gone ? "bye unmounted" :
							     "bye failed");
			return gone ? 0 : 1;
		}
		if (c.chan >= 0 && (p[0].revents & (POLLIN | POLLHUP))) {
			ssize_t k = mfs_chan_recv(c.chan, msg, sizeof(msg), 0);

			if (k == 0) {
				close(c.chan);
				c.chan = -1;
			} else if (k > 0) {
				rc = handle(&c, msg);
				if (rc >= 0)
					return rc;
			}
		}
		if ((c.holder_pidfd >= 0 && (p[1].revents & POLLIN)) ||
		    (c.holder_pidfd < 0 && c.holder > 0 &&
		     !mfs_pid_alive(c.holder)))
			holder_gone(&c);
		else if (c.holder == 0 && o->rundir &&
			 time(NULL) >= c.next_try)
			adopt(&c);
	}
}
