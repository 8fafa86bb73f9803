/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What serve.c (the request loop), ops.c (the handlers), control.c (the
 * daemon's control thread) and refresh.c (switching images) share: the
 * daemon's context, a worker, a request, and the reply helpers of serve.c.
 */
#ifndef MFS_REQUEST_H
#define MFS_REQUEST_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <linux/fuse.h>

#include "daemon.h"
#include "view_image.h"

#define MFS_MAX_WRITE		(128 * 1024)
#define MFS_MAX_PAGES		256
/* a request: max_write and its headers */
#define MFS_IN_BUF_SIZE		(MFS_MAX_WRITE + 64 * 1024)
/* a reply's data: max_pages of 4 KiB */
#define MFS_DATA_BUF_SIZE	(MFS_MAX_PAGES * 4096)

struct mfs_daemon;

struct mfs_worker {
	struct mfs_daemon *d;
	int fd;			/* the /dev/fuse fd it reads and replies on */
	pthread_t thread;
	int started;
	int done;		/* atomic: the thread has left its loop */
	int end_errno;		/* why: ENODEV (unmounted), 0 (stopped) */
	/*
	 * Atomic: the image the request in hand uses, NULL between
	 * requests (a hazard pointer: refresh.c frees an old image only when
	 * no worker holds it).
	 */
	const struct mfs_image *active;
	uint8_t *in;		/* MFS_IN_BUF_SIZE */
	uint8_t *data;		/* MFS_DATA_BUF_SIZE */
	int pipe[2];		/* splice replies; -1 when unavailable */
	size_t pipe_pages;	/* its capacity in page buffers */
};

/*
 * Set up by mfs_serve() before the workers start. `img` changes (atomic
 * pointer) when refresh.c switches images; `stop` and `go` are set by the
 * control thread. Locks: go_lock guards `go` only and is never held with
 * another lock.
 */
struct mfs_daemon {
	const struct mfs_image *img;	/* atomic */
	int no_passthrough;
	size_t page;		/* page size: 64 KiB on some arm64 */
	size_t pipe_pages;	/* smallest worker pipe, 0 = no splice */
	const mfs_handler *ops;	/* ops[opcode], NULL: ENOSYS */
	size_t nops;
	const struct mfs_serve_opts *opts;
	struct mfs_worker w[MFS_MAX_FDS];
	int nworkers;
	int stop;		/* atomic: workers leave their loop */
	int go;			/* workers may read (a standby waits) */
	pthread_mutex_t go_lock;
	pthread_cond_t go_cond;
	int done_efd;		/* eventfd: a worker left its loop */
};

struct mfs_req {
	const struct mfs_daemon *d;
	struct mfs_worker *w;
	const struct mfs_image *img;	/* the image this request uses */
	const struct fuse_in_header *h;
	const void *arg;
	size_t arglen;
	struct timespec t0;	/* when it was read, for the latency */
};

/*
 * serve.c: every request gets exactly one reply, through one of these
 * (a spliced READ reply is written by ops.c itself and counted there).
 * mfs_reply_err takes a positive errno, 1..4095.
 */
void mfs_reply_err(struct mfs_req *r, int err);
void mfs_reply_ok(struct mfs_req *r, const void *data, size_t len);

#endif
