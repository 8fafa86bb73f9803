// SPDX-License-Identifier: Apache-2.0
/*
 * The serving daemon: worker threads, each reading its own /dev/fuse fd
 * (passed down by the holder) and answering on the fd it read from. The tree
 * comes from the mapped view image; per-inode passthrough state (backing id,
 * open count) lives in the shared state file so a successor can take over.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "blob.h"
#include "daemon.h"
#include "fuse_proto.h"
#include "log.h"
#include "state.h"
#include "stats_file.h"
#include "view_image.h"

#define TTL_SEC		(365ULL * 24 * 3600)
#define MAX_WRITE	(128 * 1024)
#define MAX_PAGES	256
#define READAHEAD	(4 << 20)
#define IN_BUF_SIZE	(MAX_WRITE + 64 * 1024)
#define DATA_BUF_SIZE	(MAX_PAGES * 4096)
#define FH_PASSTHROUGH	1
#define FH_FALLBACK	2
#define FH_INLINE	3

struct mfs_worker {
	int fd;
	pthread_t thread;
	uint8_t *in;
	uint8_t *data;
	int pipe[2];		/* splice replies; -1 when unavailable */
	size_t pipe_pages;	/* its capacity in page buffers */
};

struct mfs_req {
	struct mfs_worker *w;
	const struct fuse_in_header *h;
	const void *arg;
	size_t arglen;
	struct timespec t0;
};

static struct mfs_image g_img;
static int g_no_passthrough;
static int g_no_splice;
static size_t g_pipe_pages;	/* smallest worker pipe, 0 = no splice */
static size_t g_page = 4096;	/* page size: 64 KiB on some arm64 */

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

static void reply_err(struct mfs_req *r, int err)
{
	assert(err > 0 && err < 4096);
	send_reply(r, err, NULL, 0);
}

static void reply_ok(struct mfs_req *r, const void *data, size_t len)
{
	struct iovec v = { (void *)data, len };

	send_reply(r, 0, &v, len ? 1 : 0);
}

static void fill_attr(uint64_t ino, const struct mfs_inode *n,
		      struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->size = S_ISDIR(n->mode) ? 4096 : n->size;
	a->blocks = (a->size + 511) / 512;
	a->atime = a->mtime = a->ctime = g_img.mtime;
	a->mode = n->mode;
	a->nlink = n->nlink;
	a->blksize = 4096;
}

static void fill_entry(uint64_t ino, const struct mfs_inode *n,
		       struct fuse_entry_out *e)
{
	memset(e, 0, sizeof(*e));
	e->nodeid = ino;
	e->entry_valid = TTL_SEC;
	e->attr_valid = TTL_SEC;
	fill_attr(ino, n, &e->attr);
}

static const struct mfs_inode *node_of(struct mfs_req *r)
{
	const struct mfs_inode *n = mfs_image_inode(&g_img, r->h->nodeid);

	if (!n)
		reply_err(r, ESTALE);
	return n;
}

#define NEED_ARG(r, type)						\
	do {								\
		if ((r)->arglen < sizeof(type)) {			\
			reply_err((r), EINVAL);				\
			return;						\
		}							\
	} while (0)

static void mfs_op_init(struct mfs_req *r)
{
	const struct fuse_init_in *in = r->arg;
	struct mfs_init_out out;
	uint32_t want, kflags2 = 0;
	int pt;

	if (r->arglen < 16) {
		reply_err(r, EINVAL);
		return;
	}
	memset(&out, 0, sizeof(out));
	out.major = FUSE_KERNEL_VERSION;
	if (in->major > FUSE_KERNEL_VERSION) {
		/* The kernel asks again with our major. */
		reply_ok(r, &out, sizeof(out));
		return;
	}
	if (in->major < FUSE_KERNEL_VERSION) {
		mfs_log("op=INIT: kernel protocol %u.%u is too old",
			in->major, in->minor);
		reply_err(r, EPROTO);
		return;
	}
	if ((in->flags & MFS_FUSE_INIT_EXT) && r->arglen >= 20)
		kflags2 = in->flags2;
	out.minor = in->minor < MFS_FUSE_MINOR_WANTED ?
		    in->minor : MFS_FUSE_MINOR_WANTED;
	want = FUSE_ASYNC_READ | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES |
	       FUSE_CACHE_SYMLINKS | FUSE_DO_READDIRPLUS |
	       FUSE_READDIRPLUS_AUTO;
	out.flags = in->flags & want;
	pt = !g_no_passthrough && out.minor >= 40 &&
	     (in->flags & MFS_FUSE_INIT_EXT) &&
	     (kflags2 & MFS_FUSE_PASSTHROUGH_2);
	if (pt) {
		out.flags |= MFS_FUSE_INIT_EXT;
		out.flags2 = MFS_FUSE_PASSTHROUGH_2;
		out.max_stack_depth = 1;
	} else if (!g_no_passthrough) {
		mfs_log("kernel protocol 7.%u offers no passthrough: "
			"reads are served by the daemon", in->minor);
	}
	/* the kernel keeps min(bdi readahead, this): the holder has raised
	 * the bdi's to 4 MiB so daemon-served reads come as 1 MiB requests,
	 * several in flight */
	out.max_readahead = READAHEAD;
	out.max_background = 64;
	out.congestion_threshold = 48;
	out.max_write = MAX_WRITE;
	out.time_gran = 1;
	/*
	 * A reply spliced through a pipe needs a buffer per page plus one for
	 * the header: where pipes are capped at 1 MiB (no CAP_SYS_RESOURCE,
	 * fs.pipe-max-size), ask for 255-page requests so they still fit.
	 */
	out.max_pages = DATA_BUF_SIZE / g_page;	/* counted in pages */
	if (g_pipe_pages > 1 && g_pipe_pages - 1 < out.max_pages)
		out.max_pages = g_pipe_pages - 1;

	mfs_state_set_init(pt, out.minor, out.flags, out.flags2);
	mfs_stats_set_passthrough(pt);
	mfs_stats_set_proto_minor(out.minor);
	mfs_log("INIT: protocol 7.%u (kernel 7.%u), passthrough %s",
		out.minor, in->minor, pt ? "on" : "off");
	reply_ok(r, &out, out.minor < 23 ? 24 : sizeof(out));
}

static void mfs_op_destroy(struct mfs_req *r)
{
	reply_ok(r, NULL, 0);
}

static void mfs_op_lookup(struct mfs_req *r)
{
	const struct mfs_inode *dir = node_of(r), *n;
	struct fuse_entry_out e;
	size_t len;
	uint32_t ino;

	if (!dir)
		return;
	if (!S_ISDIR(dir->mode)) {
		reply_err(r, ENOTDIR);
		return;
	}
	len = strnlen(r->arg, r->arglen);
	ino = mfs_image_lookup(&g_img, dir, r->arg, len);
	if (!ino) {
		/* nodeid 0 with a timeout: the kernel caches the miss */
		memset(&e, 0, sizeof(e));
		e.entry_valid = TTL_SEC;
		mfs_stats_count(MFS_C_NEGATIVE_LOOKUPS, 1);
		reply_ok(r, &e, sizeof(e));
		return;
	}
	n = mfs_image_inode(&g_img, ino);
	fill_entry(ino, n, &e);
	reply_ok(r, &e, sizeof(e));
}

static void mfs_op_forget(struct mfs_req *r)
{
	/* nodeids are fixed for the life of the mount: nothing to drop */
	(void)r;
}

static void mfs_op_getattr(struct mfs_req *r)
{
	const struct mfs_inode *n = node_of(r);
	struct fuse_attr_out out;

	if (!n)
		return;
	memset(&out, 0, sizeof(out));
	out.attr_valid = TTL_SEC;
	fill_attr(r->h->nodeid, n, &out.attr);
	reply_ok(r, &out, sizeof(out));
}

static void mfs_op_readlink(struct mfs_req *r)
{
	const struct mfs_inode *n = node_of(r);

	if (!n)
		return;
	if (!S_ISLNK(n->mode)) {
		reply_err(r, EINVAL);
		return;
	}
	reply_ok(r, g_img.strings + n->a, n->b);
}

static void mfs_op_open(struct mfs_req *r)
{
	const struct mfs_inode *n = node_of(r);
	const struct fuse_open_in *in = r->arg;
	uint32_t ino = r->h->nodeid;
	struct mfs_open_out out;
	int rc, fd;

	if (!n)
		return;
	NEED_ARG(r, struct fuse_open_in);
	if (S_ISDIR(n->mode)) {
		reply_err(r, EISDIR);
		return;
	}
	if (!S_ISREG(n->mode)) {
		reply_err(r, EINVAL);
		return;
	}
	if ((in->flags & O_ACCMODE) != O_RDONLY || (in->flags & O_TRUNC)) {
		reply_err(r, EROFS);
		return;
	}
	mfs_stats_count(MFS_C_OPENS, 1);
	memset(&out, 0, sizeof(out));
	if (n->flags & MFS_INODE_INLINE) {
		/* bytes from the image (refs/main): no backing file */
		out.fh = FH_INLINE;
		out.open_flags = FOPEN_KEEP_CACHE;
		reply_ok(r, &out, sizeof(out));
		return;
	}
	if (mfs_pt_enabled()) {
		rc = mfs_pt_open(r->h, r->w->fd, n, &out.backing_id);
		if (rc < 0) {
			reply_err(r, EIO);
			return;
		}
		if (rc == 0) {
			out.fh = FH_PASSTHROUGH;
			out.open_flags = MFS_FOPEN_PASSTHROUGH;
			mfs_stats_count(MFS_C_PASSTHROUGH_OPENS, 1);
			reply_ok(r, &out, sizeof(out));
			return;
		}
	}
	fd = mfs_blob_fd(r->h->opcode, ino, n);
	if (fd < 0) {
		reply_err(r, EIO);
		return;
	}
	out.fh = FH_FALLBACK;
	out.open_flags = FOPEN_KEEP_CACHE;
	mfs_stats_count(MFS_C_FALLBACK_OPENS, 1);
	reply_ok(r, &out, sizeof(out));
}

/* Empties a worker's pipe after a failed splice reply (`n` bytes in it). */
static void drain_pipe(struct mfs_worker *w, size_t n)
{
	while (n > 0) {
		ssize_t k = read(w->pipe[0], w->data,
				 n < DATA_BUF_SIZE ? n : DATA_BUF_SIZE);

		if (k <= 0) {
			/* cannot trust this pipe any more */
			close(w->pipe[0]);
			close(w->pipe[1]);
			w->pipe[0] = w->pipe[1] = -1;
			return;
		}
		n -= k;
	}
}

/*
 * A READ reply with splice: blob pages go into the pipe by reference and are
 * copied once, into the request, by the kernel (pread + writev copy twice).
 * Returns 0 when the reply was sent, -1 to let the caller use pread.
 */
static int read_splice(struct mfs_req *r, int fd, uint64_t off, size_t want)
{
	struct mfs_worker *w = r->w;
	struct fuse_out_header out;
	size_t moved = 0, total = sizeof(out) + want;
	ssize_t k;

	if (w->pipe[0] < 0 || __atomic_load_n(&g_no_splice, __ATOMIC_RELAXED))
		return -1;
	/* one buffer for the header, one per page of data */
	if (((off % g_page) + want + g_page - 1) / g_page + 1 > w->pipe_pages)
		return -1;
	out.len = total;
	out.error = 0;
	out.unique = r->h->unique;
	if (write(w->pipe[1], &out, sizeof(out)) != sizeof(out)) {
		drain_pipe(w, 0);
		return -1;
	}
	while (moved < want) {
		loff_t o = off + moved;

		k = splice(fd, &o, w->pipe[1], NULL, want - moved,
			   SPLICE_F_MOVE);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int saved = errno;

			/* EINVAL: the store's filesystem cannot splice */
			if (k < 0 && saved == EINVAL &&
			    !__atomic_exchange_n(&g_no_splice, 1,
						 __ATOMIC_RELAXED))
				mfs_log("splice from the store: %s: "
					"using pread",
					strerror(saved));
			drain_pipe(w, sizeof(out) + moved);
			return -1;
		}
		moved += k;
	}
	/* count before the reply: who has the bytes sees them counted */
	mfs_stats_count(MFS_C_FALLBACK_READS, 1);
	mfs_stats_count(MFS_C_FALLBACK_BYTES, want);
	k = splice(w->pipe[0], NULL, w->fd, NULL, total, SPLICE_F_MOVE);
	mfs_stats_count_done(&r->t0, 0);
	if (k != (ssize_t)total) {
		int saved = errno;

		/* ENOENT: the request was interrupted; the reply is moot */
		if (k < 0 && saved != ENOENT)
			mfs_log("op=READ nodeid=%llu splice reply: %s",
				(unsigned long long)r->h->nodeid,
				strerror(saved));
		drain_pipe(w, k < 0 ? total : total - k);
	}
	return 0;
}

static void mfs_op_read(struct mfs_req *r)
{
	const struct mfs_inode *n = node_of(r);
	const struct fuse_read_in *in = r->arg;
	uint32_t ino = r->h->nodeid;
	size_t want, got = 0;
	int fd;

	if (!n)
		return;
	NEED_ARG(r, struct fuse_read_in);
	if (!S_ISREG(n->mode)) {
		reply_err(r, EISDIR);
		return;
	}
	if (n->flags & MFS_INODE_INLINE) {
		want = 0;
		if (in->offset < n->size) {
			want = n->size - in->offset;
			if (want > in->size)
				want = in->size;
		}
		reply_ok(r, want ? g_img.strings + n->a + in->offset : NULL,
			 want);
		return;
	}
	fd = mfs_blob_fd(r->h->opcode, ino, n);
	if (fd < 0) {
		reply_err(r, EIO);
		return;
	}
	want = in->size < DATA_BUF_SIZE ? in->size : DATA_BUF_SIZE;
	if (in->offset >= n->size)
		want = 0;
	else if (want > n->size - in->offset)
		want = n->size - in->offset;
	if (want > 0 && read_splice(r, fd, in->offset, want) == 0)
		return;
	while (got < want) {
		ssize_t k = pread(fd, r->w->data + got, want - got,
				  in->offset + got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int saved = errno;
			char path[4096];

			mfs_image_path(&g_img, ino, path, sizeof(path));
			mfs_log("op=READ nodeid=%u path=%s pread: %s", ino,
				path, strerror(saved));
			mfs_stats_count(MFS_C_BLOB_ERRORS, 1);
			reply_err(r, EIO);
			return;
		}
		if (k == 0)
			break;
		got += k;
	}
	mfs_stats_count(MFS_C_FALLBACK_READS, 1);
	mfs_stats_count(MFS_C_FALLBACK_BYTES, got);
	reply_ok(r, r->w->data, got);
}

static void mfs_op_release(struct mfs_req *r)
{
	const struct fuse_release_in *in = r->arg;
	if (!node_of(r))
		return;
	NEED_ARG(r, struct fuse_release_in);
	if (in->fh != FH_PASSTHROUGH) {
		reply_ok(r, NULL, 0);
		return;
	}
	mfs_pt_release(r->h, r->w->fd);
	reply_ok(r, NULL, 0);
}

static void mfs_op_opendir(struct mfs_req *r)
{
	const struct mfs_inode *n = node_of(r);
	struct mfs_open_out out;

	if (!n)
		return;
	if (!S_ISDIR(n->mode)) {
		reply_err(r, ENOTDIR);
		return;
	}
	memset(&out, 0, sizeof(out));
	out.open_flags = FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE;
	reply_ok(r, &out, sizeof(out));
}

/* Entry i of a listing: 0 ".", 1 "..", 2.. the children in image order. */
static int dir_entry(const struct mfs_inode *dir, uint64_t self,
		     uint64_t i, const char **name, size_t *len,
		     uint32_t *ino)
{
	const struct mfs_dirent *d;

	if (i == 0) {
		*name = ".";
		*len = 1;
		*ino = self;
		return 1;
	}
	if (i == 1) {
		*name = "..";
		*len = 2;
		*ino = dir->parent;
		return 1;
	}
	if (i - 2 >= dir->b)
		return 0;
	d = &g_img.dirents[dir->a + i - 2];
	*name = g_img.strings + d->name_off;
	*len = d->name_len;
	*ino = d->ino;
	return 1;
}

static void readdir_common(struct mfs_req *r, int plus)
{
	const struct mfs_inode *dir = node_of(r);
	const struct fuse_read_in *in = r->arg;
	size_t size, pos = 0;
	uint64_t i;

	if (!dir)
		return;
	NEED_ARG(r, struct fuse_read_in);
	if (!S_ISDIR(dir->mode)) {
		reply_err(r, ENOTDIR);
		return;
	}
	size = in->size < DATA_BUF_SIZE ? in->size : DATA_BUF_SIZE;
	for (i = in->offset;; i++) {
		const struct mfs_inode *n;
		const char *name;
		size_t len, rec, hdr;
		struct fuse_dirent *de;
		uint32_t ino;

		if (!dir_entry(dir, r->h->nodeid, i, &name, &len, &ino))
			break;
		n = mfs_image_inode(&g_img, ino);
		hdr = plus ? sizeof(struct fuse_direntplus) :
			     sizeof(struct fuse_dirent);
		rec = (hdr + len + 7) & ~(size_t)7;
		if (pos + rec > size)
			break;
		memset(r->w->data + pos, 0, rec);
		if (plus) {
			struct fuse_direntplus *dp =
				(void *)(r->w->data + pos);

			/* "." and ".." carry no entry: nodeid 0 */
			if (i >= 2)
				fill_entry(ino, n, &dp->entry_out);
			de = &dp->dirent;
		} else {
			de = (void *)(r->w->data + pos);
		}
		de->ino = ino;
		de->off = i + 1;
		de->namelen = len;
		de->type = (n->mode & S_IFMT) >> 12;
		memcpy(de->name, name, len);
		pos += rec;
	}
	reply_ok(r, r->w->data, pos);
}

static void mfs_op_readdir(struct mfs_req *r)
{
	readdir_common(r, 0);
}

static void mfs_op_readdirplus(struct mfs_req *r)
{
	readdir_common(r, 1);
}

static void mfs_op_releasedir(struct mfs_req *r)
{
	reply_ok(r, NULL, 0);
}

static void mfs_op_statfs(struct mfs_req *r)
{
	struct fuse_statfs_out out;
	struct statvfs sv;

	memset(&out, 0, sizeof(out));
	if (mfs_blob_statvfs(&sv) == 0) {
		out.st.blocks = sv.f_blocks;
		out.st.bfree = sv.f_bfree;
		out.st.bavail = sv.f_bavail;
		out.st.files = sv.f_files;
		out.st.ffree = sv.f_ffree;
		out.st.bsize = sv.f_bsize;
		out.st.frsize = sv.f_frsize;
	} else {
		int saved = errno;

		mfs_log("op=STATFS fstatvfs %s: %s", g_img.objects_dir,
			strerror(saved));
		out.st.bsize = out.st.frsize = 4096;
		out.st.files = g_img.inode_count;
	}
	out.st.namelen = 255;
	reply_ok(r, &out, sizeof(out));
}

static void mfs_op_access(struct mfs_req *r)
{
	const struct fuse_access_in *in = r->arg;

	if (!node_of(r))
		return;
	NEED_ARG(r, struct fuse_access_in);
	if (in->mask & W_OK) {
		reply_err(r, EROFS);
		return;
	}
	reply_ok(r, NULL, 0);
}

static void mfs_op_getxattr(struct mfs_req *r)
{
	if (!node_of(r))
		return;
	reply_err(r, ENODATA);
}

static void mfs_op_listxattr(struct mfs_req *r)
{
	const struct fuse_getxattr_in *in = r->arg;
	struct fuse_getxattr_out out;

	if (!node_of(r))
		return;
	NEED_ARG(r, struct fuse_getxattr_in);
	if (in->size == 0) {
		memset(&out, 0, sizeof(out));
		reply_ok(r, &out, sizeof(out));
		return;
	}
	reply_ok(r, NULL, 0);
}

static void mfs_op_flush(struct mfs_req *r)
{
	reply_ok(r, NULL, 0);
}

static void mfs_op_fsync(struct mfs_req *r)
{
	reply_ok(r, NULL, 0);
}

static void mfs_op_interrupt(struct mfs_req *r)
{
	/* every request is answered at once: nothing to interrupt */
	(void)r;
	mfs_stats_count(MFS_C_INTERRUPTS, 1);
}

static void mfs_op_readonly(struct mfs_req *r)
{
	reply_err(r, EROFS);
}

typedef void (*mfs_handler)(struct mfs_req *r);

static const mfs_handler mfs_ops[] = {
	[FUSE_LOOKUP] = mfs_op_lookup,
	[FUSE_FORGET] = mfs_op_forget,
	[FUSE_GETATTR] = mfs_op_getattr,
	[FUSE_SETATTR] = mfs_op_readonly,
	[FUSE_READLINK] = mfs_op_readlink,
	[FUSE_SYMLINK] = mfs_op_readonly,
	[FUSE_MKNOD] = mfs_op_readonly,
	[FUSE_MKDIR] = mfs_op_readonly,
	[FUSE_UNLINK] = mfs_op_readonly,
	[FUSE_RMDIR] = mfs_op_readonly,
	[FUSE_RENAME] = mfs_op_readonly,
	[FUSE_LINK] = mfs_op_readonly,
	[FUSE_OPEN] = mfs_op_open,
	[FUSE_READ] = mfs_op_read,
	[FUSE_WRITE] = mfs_op_readonly,
	[FUSE_STATFS] = mfs_op_statfs,
	[FUSE_RELEASE] = mfs_op_release,
	[FUSE_FSYNC] = mfs_op_fsync,
	[FUSE_SETXATTR] = mfs_op_readonly,
	[FUSE_GETXATTR] = mfs_op_getxattr,
	[FUSE_LISTXATTR] = mfs_op_listxattr,
	[FUSE_REMOVEXATTR] = mfs_op_readonly,
	[FUSE_FLUSH] = mfs_op_flush,
	[FUSE_INIT] = mfs_op_init,
	[FUSE_OPENDIR] = mfs_op_opendir,
	[FUSE_READDIR] = mfs_op_readdir,
	[FUSE_RELEASEDIR] = mfs_op_releasedir,
	[FUSE_FSYNCDIR] = mfs_op_fsync,
	[FUSE_ACCESS] = mfs_op_access,
	[FUSE_CREATE] = mfs_op_readonly,
	[FUSE_INTERRUPT] = mfs_op_interrupt,
	[FUSE_DESTROY] = mfs_op_destroy,
	[FUSE_BATCH_FORGET] = mfs_op_forget,
	[FUSE_FALLOCATE] = mfs_op_readonly,
	[FUSE_READDIRPLUS] = mfs_op_readdirplus,
	[FUSE_RENAME2] = mfs_op_readonly,
	[FUSE_COPY_FILE_RANGE] = mfs_op_readonly,
	[FUSE_TMPFILE] = mfs_op_readonly,
};

static void dispatch(struct mfs_worker *w, size_t n)
{
	struct mfs_req r;
	uint32_t op;

	r.w = w;
	r.h = (const void *)w->in;
	clock_gettime(CLOCK_MONOTONIC, &r.t0);
	op = r.h->opcode;
	mfs_stats_request(op);
	if (n < sizeof(*r.h) || r.h->len != n) {
		mfs_log("short request: read %zu bytes, header says %u", n,
			n >= sizeof(*r.h) ? r.h->len : 0);
		if (n >= sizeof(*r.h))
			reply_err(&r, EIO);
		return;
	}
	r.arg = w->in + sizeof(*r.h);
	r.arglen = n - sizeof(*r.h);
	if (!mfs_state_initialized() && op != FUSE_INIT) {
		reply_err(&r, EIO);
		return;
	}
	if (op < sizeof(mfs_ops) / sizeof(mfs_ops[0]) && mfs_ops[op])
		mfs_ops[op](&r);
	else
		reply_err(&r, ENOSYS);
}

static void *worker_main(void *arg)
{
	struct mfs_worker *w = arg;

	for (;;) {
		ssize_t n = read(w->fd, w->in, IN_BUF_SIZE);

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

int mfs_serve(const struct mfs_serve_opts *o)
{
	struct mfs_worker w[MFS_MAX_FDS];
	char err[512];
	int i, started = 0, rc = 1;

	memset(w, 0, sizeof(w));
	if (sysconf(_SC_PAGESIZE) > 0)
		g_page = sysconf(_SC_PAGESIZE);
	for (i = 0; i < MFS_MAX_FDS; i++)
		w[i].pipe[0] = w[i].pipe[1] = -1;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	g_no_passthrough = o->no_passthrough;
	if (mfs_image_load(o->image_path, &g_img, err, sizeof(err)) < 0) {
		mfs_log("view image: %s", err);
		return 1;
	}
	if (mfs_blob_setup(&g_img) < 0)
		goto out_image;
	if (mfs_state_map(o->state_path, &g_img) < 0)
		goto out_blob;
	if (mfs_stats_map(o->stats_path) < 0)
		goto out_state;
	mfs_stats_daemon_start(o->nfds);
	if (g_no_passthrough)
		mfs_state_no_passthrough();

	for (i = 0; i < o->nfds; i++) {
		w[i].fd = o->fds[i];
		w[i].pipe[0] = w[i].pipe[1] = -1;
		if (pipe2(w[i].pipe, O_CLOEXEC) < 0 ||
		    (fcntl(w[i].pipe[1], F_SETPIPE_SZ, 2 * DATA_BUF_SIZE) < 0 &&
		     fcntl(w[i].pipe[1], F_SETPIPE_SZ, DATA_BUF_SIZE) < 0)) {
			int saved = errno;

			mfs_log("splice pipe: %s: daemon-served reads "
				"use pread",
				strerror(saved));
			if (w[i].pipe[0] >= 0) {
				close(w[i].pipe[0]);
				close(w[i].pipe[1]);
			}
			w[i].pipe[0] = w[i].pipe[1] = -1;
			g_pipe_pages = 0;
		} else {
			int sz = fcntl(w[i].pipe[1], F_GETPIPE_SZ);

			w[i].pipe_pages = sz > 0 ? sz / g_page : 0;
			if (i == 0 || (g_pipe_pages && w[i].pipe_pages <
						       g_pipe_pages))
				g_pipe_pages = w[i].pipe_pages;
		}
		w[i].in = malloc(IN_BUF_SIZE);
		w[i].data = malloc(DATA_BUF_SIZE);
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
	mfs_log("serving %u inodes from %s on %d fds", g_img.inode_count,
		g_img.objects_dir, started);
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
	munmap((void *)g_img.base, g_img.size);
	return rc;
}
