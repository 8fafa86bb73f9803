// SPDX-License-Identifier: Apache-2.0
/*
 * The request loop of the daemon (`modelfs-fused serve`): setup and
 * teardown, worker threads, each reading its own /dev/fuse fd (passed down
 * by the holder) and answering on the fd it read from; dispatch through
 * the table main() hands over (ops.c); the replies. The main thread runs
 * the control loop (control.c) while the workers serve. Calls control.c,
 * passthrough.c, blob.c, image.c, stats.c, log.c.
 *
 * A worker stops (for a planned restart) when the control thread sets
 * d->stop and interrupts its read() with MFS_SIG_STOP, a signal installed
 * without SA_RESTART; it finishes the request in hand first. A standby
 * daemon's workers wait for d->go before their first read.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "blob.h"
#include "control.h"
#include "daemon.h"
#include "fuse_proto.h"
#include "log.h"
#include "prefetch.h"
#include "request.h"
#include "state.h"
#include "stats_file.h"
#include "view_image.h"

static void send_reply(struct mfs_req *r, int err, struct iovec *iov, int n)
{
	struct fuse_out_header out;
	struct iovec v[4];
	size_t len = sizeof(out);
	ssize_t k;
	int i;

	for (i = 0; i < n; i++) {
		v[i + 1] = iov[i];
		len += iov[i].iov_len;
	}
	out.len = len;
	out.error = -err;
	out.unique = r->h->unique;
	v[0].iov_base = &out;
	v[0].iov_len = sizeof(out);
	mfs_stats_count_done(&r->t0, err);
	do
		k = writev(r->w->fd, v, n + 1);
	while (k < 0 && errno == EINTR);
	if (k < 0) {
		int saved = errno;

		/* ENOENT: the request was interrupted (or resent to
		 * another daemon); nothing to do. */
		if (saved != ENOENT)
			mfs_log("op=%s nodeid=%llu reply: %s",
				mfs_opcode_name(r->h->opcode),
				(unsigned long long)r->h->nodeid,
				strerror(saved));
	}
}

/* The one error helper: a positive errno, sent negated. */
void mfs_reply_err(struct mfs_req *r, int err)
{
	assert(err > 0 && err < 4096);
	send_reply(r, err, NULL, 0);
}

void mfs_reply_ok(struct mfs_req *r, const void *data, size_t len)
{
	struct iovec v = { (void *)data, len };

	send_reply(r, 0, &v, len ? 1 : 0);
}

/* The image for the request now in hand, published as the hazard first. */
static const struct mfs_image *take_image(struct mfs_worker *w)
{
	const struct mfs_image *img;

	do {
		img = __atomic_load_n(&w->d->img, __ATOMIC_SEQ_CST);
		__atomic_store_n(&w->active, img, __ATOMIC_SEQ_CST);
	} while (img != __atomic_load_n(&w->d->img, __ATOMIC_SEQ_CST));
	return img;
}

static void dispatch(struct mfs_worker *w, size_t n)
{
	struct mfs_req r;
	uint32_t op;

	r.d = w->d;
	r.w = w;
	r.h = (const void *)w->in;
	clock_gettime(CLOCK_MONOTONIC, &r.t0);
	op = r.h->opcode;
	mfs_stats_request(op);
	if (n < sizeof(*r.h) || r.h->len != n) {
		mfs_log("short request: read %zu bytes, header says %u", n,
			n >= sizeof(*r.h) ? r.h->len : 0);
		if (n >= sizeof(*r.h))
			mfs_reply_err(&r, EIO);
		return;
	}
	r.arg = w->in + sizeof(*r.h);
	r.arglen = n - sizeof(*r.h);
	if (!mfs_state_initialized() && op != FUSE_INIT) {
		mfs_reply_err(&r, EIO);
		return;
	}
	r.img = take_image(w);
	if (op < r.d->nops && r.d->ops[op])
		r.d->ops[op](&r);
	else
		mfs_reply_err(&r, ENOSYS);
	__atomic_store_n(&w->active, NULL, __ATOMIC_SEQ_CST);
}

static void wait_go(struct mfs_daemon *d)
{
	pthread_mutex_lock(&d->go_lock);
	while (!d->go)
		pthread_cond_wait(&d->go_cond, &d->go_lock);
	pthread_mutex_unlock(&d->go_lock);
}

static void *worker_main(void *arg)
{
	struct mfs_worker *w = arg;
	struct mfs_daemon *d = w->d;
	uint64_t one = 1;

	wait_go(d);
	while (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE)) {
		ssize_t n = read(w->fd, w->in, MFS_IN_BUF_SIZE);

		if (n < 0) {
			int saved = errno;

			/* ENOENT: the request was interrupted before we
			 * read it; EINTR: a signal (MFS_SIG_STOP?);
			 * EAGAIN: try again. */
			if (saved == EINTR || saved == EAGAIN ||
			    saved == ENOENT)
				continue;
			if (saved != ENODEV && saved != ECONNABORTED)
				mfs_log("read /dev/fuse fd %d: %s", w->fd,
					strerror(saved));
			w->end_errno = saved;
			break;
		}
		dispatch(w, n);
	}
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	if (write(d->done_efd, &one, sizeof(one)) < 0) {
		/* the control loop also polls with a timeout */
	}
	return NULL;
}

static void on_stop_signal(int sig)
{
	(void)sig;
}

static int setup_worker(struct mfs_daemon *d, struct mfs_worker *w, int fd)
{
	w->d = d;
	w->fd = fd;
	w->pipe[0] = w->pipe[1] = -1;
	if (pipe2(w->pipe, O_CLOEXEC) < 0 ||
	    (fcntl(w->pipe[1], F_SETPIPE_SZ, 2 * MFS_DATA_BUF_SIZE) < 0 &&
	     fcntl(w->pipe[1], F_SETPIPE_SZ, MFS_DATA_BUF_SIZE) < 0)) {
		int saved = errno;

		mfs_log("splice pipe: %s: daemon-served reads use pread",
			strerror(saved));
		if (w->pipe[0] >= 0) {
			close(w->pipe[0]);
			close(w->pipe[1]);
		}
		w->pipe[0] = w->pipe[1] = -1;
		d->pipe_pages = 0;
	} else {
		int sz = fcntl(w->pipe[1], F_GETPIPE_SZ);

		w->pipe_pages = sz > 0 ? sz / d->page : 0;
		if (w == &d->w[0] ||
		    (d->pipe_pages && w->pipe_pages < d->pipe_pages))
			d->pipe_pages = w->pipe_pages;
	}
	w->in = malloc(MFS_IN_BUF_SIZE);
	w->data = malloc(MFS_DATA_BUF_SIZE);
	if (!w->in || !w->data) {
		mfs_log("out of memory for worker buffers");
		return -1;
	}
	return 0;
}

int mfs_serve(const struct mfs_serve_opts *o, const mfs_handler *ops,
	      size_t nops)
{
	static struct mfs_daemon d;
	struct mfs_image *img;
	struct sigaction sa;
	char err[512];
	int i, rc = 1;

	memset(&d, 0, sizeof(d));
	d.ops = ops;
	d.nops = nops;
	d.opts = o;
	d.page = 4096;
	if (sysconf(_SC_PAGESIZE) > 0)
		d.page = sysconf(_SC_PAGESIZE);
	pthread_mutex_init(&d.go_lock, NULL);
	pthread_cond_init(&d.go_cond, NULL);
	for (i = 0; i < MFS_MAX_FDS; i++)
		d.w[i].pipe[0] = d.w[i].pipe[1] = -1;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;	/* no SA_RESTART: read() returns */
	sigaction(MFS_SIG_STOP, &sa, NULL);
	d.no_passthrough = o->no_passthrough;
	img = calloc(1, sizeof(*img));
	if (!img)
		return 1;
	if (mfs_image_load(o->image_path, img, err, sizeof(err)) < 0) {
		mfs_log("view image: %s", err);
		free(img);
		return 1;
	}
	d.img = img;
	if (mfs_blob_setup(img->objects_dir) < 0)
		goto out_image;
	if (mfs_state_map(o->state_path) < 0)
		goto out_blob;
	if (mfs_state_reserve(img->next_nodeid) < 0)
		goto out_state;
	if (mfs_stats_map(o->stats_path) < 0)
		goto out_state;
	mfs_stats_set_image(img->generation, img->image_id, 0, 0);
	if (d.no_passthrough)
		mfs_state_no_passthrough();
	d.done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d.done_efd < 0) {
		int saved = errno;

		mfs_log("eventfd: %s", strerror(saved));
		goto out_stats;
	}

	for (i = 0; i < o->nfds; i++)
		if (setup_worker(&d, &d.w[i], o->fds[i]) < 0)
			goto out_workers;
	d.nworkers = o->nfds;
	/* no prefetch is no error: opens are served the same without it */
	mfs_prefetch_setup();
	for (i = 0; i < o->nfds; i++) {
		int e = pthread_create(&d.w[i].thread, NULL, worker_main,
				       &d.w[i]);

		if (e) {
			mfs_log("pthread_create: %s", strerror(e));
			break;
		}
		d.w[i].started = 1;
	}
	if (i == 0)
		goto out_workers;
	d.nworkers = i;
	mfs_log("%s %u inodes (image %016llx, catalog %llu) from %s on %d "
		"fds, version %s", o->standby ? "ready to serve" : "serving",
		img->inode_count, (unsigned long long)img->image_id,
		(unsigned long long)img->generation, img->objects_dir,
		d.nworkers, MFS_VERSION);
	rc = mfs_control_run(&d);
	for (i = 0; i < d.nworkers; i++)
		pthread_join(d.w[i].thread, NULL);
out_workers:
	mfs_prefetch_teardown();
	for (i = 0; i < o->nfds; i++) {
		if (d.w[i].pipe[0] >= 0) {
			close(d.w[i].pipe[0]);
			close(d.w[i].pipe[1]);
		}
		free(d.w[i].in);
		free(d.w[i].data);
	}
	close(d.done_efd);
out_stats:
	mfs_stats_unmap();
out_state:
	mfs_state_unmap();
out_blob:
	mfs_blob_teardown();
out_image:
	img = (struct mfs_image *)d.img;
	mfs_image_free(img);
	free(img);
	return rc;
}
