// SPDX-License-Identifier: Apache-2.0
/*
 * The request loop of the daemon (`modelfs-fused serve`): worker threads,
 * each reading its own /dev/fuse fd (passed down by the holder) and
 * answering on the fd it read from; dispatch through the table main()
 * hands over (ops.c); the replies; RESEND after a crash; setup and teardown.
 * Calls passthrough.c, blob.c, image.c, stats.c, log.c.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "blob.h"
#include "daemon.h"
#include "fuse_proto.h"
#include "log.h"
#include "request.h"
#include "state.h"
#include "stats_file.h"
#include "view_image.h"

static void send_reply(struct mfs_req *r, int err, struct iovec *iov, int n)
{
	struct fuse_out_header out;
	struct iovec v[4];
	size_t len = sizeof(out);
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
	if (writev(r->w->fd, v, n + 1) < 0) {
		int saved = errno;

		/* ENOENT: the request was interrupted; nothing to do. */
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
	if (op < r.d->nops && r.d->ops[op])
		r.d->ops[op](&r);
	else
		mfs_reply_err(&r, ENOSYS);
}

static void *worker_main(void *arg)
{
	struct mfs_worker *w = arg;

	for (;;) {
		ssize_t n = read(w->fd, w->in, MFS_IN_BUF_SIZE);

		if (n < 0) {
			int saved = errno;

			/* ENOENT: the request was interrupted before we
			 * read it; EINTR/EAGAIN: try again. */
			if (saved == EINTR || saved == EAGAIN ||
			    saved == ENOENT)
				continue;
			if (saved != ENODEV && saved != ECONNABORTED)
				mfs_log("read /dev/fuse fd %d: %s", w->fd,
					strerror(saved));
			break;
		}
		dispatch(w, n);
	}
	return NULL;
}

static void send_resend(int fd)
{
	struct fuse_out_header h = {
		.len = sizeof(h), .error = MFS_FUSE_NOTIFY_RESEND, .unique = 0,
	};

	if (write(fd, &h, sizeof(h)) < 0) {
		int saved = errno;

		mfs_log("NOTIFY_RESEND: %s", strerror(saved));
	} else {
		mfs_log("NOTIFY_RESEND sent: requests of the previous daemon "
			"are queued again");
	}
}

int mfs_serve(const struct mfs_serve_opts *o, const mfs_handler *ops,
	      size_t nops)
{
	struct mfs_worker w[MFS_MAX_FDS];
	struct mfs_daemon d;
	char err[512];
	int i, started = 0, rc = 1;

	memset(w, 0, sizeof(w));
	memset(&d, 0, sizeof(d));
	d.ops = ops;
	d.nops = nops;
	d.page = 4096;
	if (sysconf(_SC_PAGESIZE) > 0)
		d.page = sysconf(_SC_PAGESIZE);
	for (i = 0; i < MFS_MAX_FDS; i++)
		w[i].pipe[0] = w[i].pipe[1] = -1;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	d.no_passthrough = o->no_passthrough;
	if (mfs_image_load(o->image_path, &d.img, err, sizeof(err)) < 0) {
		mfs_log("view image: %s", err);
		return 1;
	}
	if (mfs_blob_setup(&d.img) < 0)
		goto out_image;
	if (mfs_state_map(o->state_path, &d.img) < 0)
		goto out_blob;
	if (mfs_stats_map(o->stats_path) < 0)
		goto out_state;
	mfs_stats_daemon_start(o->nfds);
	if (d.no_passthrough)
		mfs_state_no_passthrough();

	for (i = 0; i < o->nfds; i++) {
		w[i].d = &d;
		w[i].fd = o->fds[i];
		w[i].pipe[0] = w[i].pipe[1] = -1;
		if (pipe2(w[i].pipe, O_CLOEXEC) < 0 ||
		    (fcntl(w[i].pipe[1], F_SETPIPE_SZ,
			   2 * MFS_DATA_BUF_SIZE) < 0 &&
		     fcntl(w[i].pipe[1], F_SETPIPE_SZ,
			   MFS_DATA_BUF_SIZE) < 0)) {
			int saved = errno;

			mfs_log("splice pipe: %s: daemon-served reads "
				"use pread",
				strerror(saved));
			if (w[i].pipe[0] >= 0) {
				close(w[i].pipe[0]);
				close(w[i].pipe[1]);
			}
			w[i].pipe[0] = w[i].pipe[1] = -1;
			d.pipe_pages = 0;
		} else {
			int sz = fcntl(w[i].pipe[1], F_GETPIPE_SZ);

			w[i].pipe_pages = sz > 0 ? sz / d.page : 0;
			if (i == 0 || (d.pipe_pages && w[i].pipe_pages <
						       d.pipe_pages))
				d.pipe_pages = w[i].pipe_pages;
		}
		w[i].in = malloc(MFS_IN_BUF_SIZE);
		w[i].data = malloc(MFS_DATA_BUF_SIZE);
		if (!w[i].in || !w[i].data) {
			mfs_log("out of memory for worker buffers");
			goto out_workers;
		}
	}
	for (i = 0; i < o->nfds; i++) {
		int e = pthread_create(&w[i].thread, NULL, worker_main, &w[i]);

		if (e) {
			mfs_log("pthread_create: %s", strerror(e));
			break;
		}
		started++;
	}
	if (started == 0)
		goto out_workers;
	if (o->resend)
		send_resend(o->fds[0]);
	mfs_log("serving %u inodes from %s on %d fds", d.img.inode_count,
		d.img.objects_dir, started);
	for (i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	mfs_log("unmounted: exiting");
	rc = 0;
out_workers:
	for (i = 0; i < o->nfds; i++) {
		if (w[i].pipe[0] >= 0) {
			close(w[i].pipe[0]);
			close(w[i].pipe[1]);
		}
		free(w[i].in);
		free(w[i].data);
	}
	mfs_stats_unmap();
out_state:
	mfs_state_unmap();
out_blob:
	mfs_blob_teardown();
out_image:
	munmap((void *)d.img.base, d.img.size);
	return rc;
}
