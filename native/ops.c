// SPDX-License-Identifier: Apache-2.0
/*
 * The handlers: one mfs_op_<name> per FUSE opcode, and the dispatch table.
 * The tree comes from the mapped view image; blob fds from blob.c, backing
 * ids from passthrough.c. Each handler checks the nodeid first, then
 * replies exactly once (serve.c's mfs_reply_ok / mfs_reply_err) and
 * returns. Calls serve.c (replies), passthrough.c, blob.c, image.c,
 * stats.c, log.c; nothing calls it by name (see mfs_ops).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

#include "blob.h"
#include "fuse_proto.h"
#include "log.h"
#include "prefetch.h"
#include "request.h"
#include "state.h"
#include "stats_file.h"
#include "view_image.h"

#define TTL_SEC		(365ULL * 24 * 3600)
#define READAHEAD	(4 << 20)
#define FH_PASSTHROUGH	1
#define FH_FALLBACK	2
#define FH_INLINE	3
#define FH_DIRECT	4	/* new blob of a nodeid whose old one is open */

static int g_no_splice;

static void fill_attr(uint64_t ino, const struct mfs_inode *n,
		      struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->size = S_ISDIR(n->mode) ? 4096 : n->size;
	a->blocks = (a->size + 511) / 512;
	a->atime = a->mtime = a->ctime = n->mtime;
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

/*
 * The inode of the request's nodeid in the image it uses. Every nodeid the
 * kernel was ever given is in the image: paths that vanished in a refresh
 * stay as orphans, so ESTALE means a nodeid this mount never gave out.
 */
static const struct mfs_inode *node_of(struct mfs_req *r)
{
	const struct mfs_inode *n = mfs_image_inode(r->img, r->h->nodeid);

	if (!n)
		mfs_reply_err(r, ESTALE);
	return n;
}

#define NEED_ARG(r, type)						\
	do {								\
		if ((r)->arglen < sizeof(type)) {			\
			mfs_reply_err((r), EINVAL);			\
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
		mfs_reply_err(r, EINVAL);
		return;
	}
	memset(&out, 0, sizeof(out));
	out.major = FUSE_KERNEL_VERSION;
	if (in->major > FUSE_KERNEL_VERSION) {
		/* The kernel asks again with our major. */
		mfs_reply_ok(r, &out, sizeof(out));
		return;
	}
	if (in->major < FUSE_KERNEL_VERSION) {
		mfs_log("op=INIT: kernel protocol %u.%u is too old",
			in->major, in->minor);
		mfs_reply_err(r, EPROTO);
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
	pt = !r->d->no_passthrough && out.minor >= 40 &&
	     (in->flags & MFS_FUSE_INIT_EXT) &&
	     (kflags2 & MFS_FUSE_PASSTHROUGH_2);
	if (pt) {
		out.flags |= MFS_FUSE_INIT_EXT;
		out.flags2 = MFS_FUSE_PASSTHROUGH_2;
		out.max_stack_depth = 1;
	} else if (!r->d->no_passthrough) {
		mfs_log("kernel protocol 7.%u offers no passthrough: "
			"reads are served by the daemon", in->minor);
	}
	/* the kernel keeps min(bdi readahead, this): the holder has raised
	 * the bdi's to 4 MiB so daemon-served reads come as 1 MiB requests,
	 * several in flight */
	out.max_readahead = READAHEAD;
	out.max_background = 64;
	out.congestion_threshold = 48;
	out.max_write = MFS_MAX_WRITE;
	out.time_gran = 1;
	/*
	 * A reply spliced through a pipe needs a buffer per page plus one for
	 * the header: where pipes are capped at 1 MiB (no CAP_SYS_RESOURCE,
	 * fs.pipe-max-size), ask for 255-page requests so they still fit.
	 */
	out.max_pages = MFS_DATA_BUF_SIZE / r->d->page;	/* counted in pages */
	if (r->d->pipe_pages > 1 && r->d->pipe_pages - 1 < out.max_pages)
		out.max_pages = r->d->pipe_pages - 1;

	mfs_state_set_init(pt, out.minor, out.flags, out.flags2);
	mfs_stats_set_passthrough(pt);
	mfs_stats_set_proto_minor(out.minor);
	mfs_log("INIT: protocol 7.%u (kernel 7.%u), passthrough %s",
		out.minor, in->minor, pt ? "on" : "off");
	mfs_reply_ok(r, &out, out.minor < 23 ? 24 : sizeof(out));
}

static void mfs_op_destroy(struct mfs_req *r)
{
	mfs_reply_ok(r, NULL, 0);
}

static void mfs_op_lookup(struct mfs_req *r)
{
	const struct mfs_inode *dir = node_of(r), *n;
	struct fuse_entry_out e;
	size_t len;
	uint64_t ino;

	if (!dir)
		return;
	if (!S_ISDIR(dir->mode)) {
		mfs_reply_err(r, ENOTDIR);
		return;
	}
	len = strnlen(r->arg, r->arglen);
	ino = mfs_image_lookup(r->img, dir, r->arg, len);
	if (!ino) {
		/* nodeid 0 with a timeout: the kernel caches the miss */
		memset(&e, 0, sizeof(e));
		e.entry_valid = TTL_SEC;
		mfs_stats_count(MFS_C_NEGATIVE_LOOKUPS, 1);
		mfs_reply_ok(r, &e, sizeof(e));
		return;
	}
	n = mfs_image_inode(r->img, ino);
	fill_entry(ino, n, &e);
	mfs_reply_ok(r, &e, sizeof(e));
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
	mfs_reply_ok(r, &out, sizeof(out));
}

static void mfs_op_readlink(struct mfs_req *r)
{
	const struct mfs_inode *n = node_of(r);

	if (!n)
		return;
	if (!S_ISLNK(n->mode)) {
		mfs_reply_err(r, EINVAL);
		return;
	}
	mfs_reply_ok(r, r->img->strings + n->a, n->b);
}

static void mfs_op_open(struct mfs_req *r)
{
	const struct mfs_inode *n = node_of(r);
	const struct fuse_open_in *in = r->arg;
	uint64_t ino = r->h->nodeid;
	struct mfs_open_out out;
	struct stat on_disk;
	int rc, fd, owned;

	if (!n)
		return;
	NEED_ARG(r, struct fuse_open_in);
	if (S_ISDIR(n->mode)) {
		mfs_reply_err(r, EISDIR);
		return;
	}
	if (!S_ISREG(n->mode)) {
		mfs_reply_err(r, EINVAL);
		return;
	}
	if ((in->flags & O_ACCMODE) != O_RDONLY || (in->flags & O_TRUNC)) {
		mfs_reply_err(r, EROFS);
		return;
	}
	mfs_stats_count(MFS_C_OPENS, 1);
	memset(&out, 0, sizeof(out));
	if (n->flags & MFS_INODE_INLINE) {
		/* bytes from the image (refs/main): no backing file */
		out.fh = FH_INLINE;
		out.open_flags = FOPEN_KEEP_CACHE;
		mfs_reply_ok(r, &out, sizeof(out));
		return;
	}
	/* a blob cut short (or grown) under the view would be served short */
	if (mfs_blob_check(r->h->opcode, r->img, ino, n, &on_disk) < 0) {
		mfs_reply_err(r, EIO);
		return;
	}
	rc = 1;
	if (mfs_pt_enabled()) {
		rc = mfs_pt_open(r->h, r->w->fd, r->img, n, &out.backing_id);
		if (rc < 0) {
			mfs_reply_err(r, EIO);
			return;
		}
		if (rc == 0) {
			out.fh = FH_PASSTHROUGH;
			out.open_flags = MFS_FOPEN_PASSTHROUGH;
			mfs_stats_count(MFS_C_PASSTHROUGH_OPENS, 1);
			/*
			 * Before the reply, so the first piece's read is under
			 * way before the loader's first fault (prefetch.c);
			 * the reply waits for no data.
			 */
			mfs_prefetch_opened(n);
			mfs_reply_ok(r, &out, sizeof(out));
			return;
		}
	}
	fd = mfs_blob_fd(r->h->opcode, r->img, ino, n, &on_disk, &owned);
	if (fd < 0) {
		mfs_reply_err(r, EIO);
		return;
	}
	if (owned)
		close(fd);
	out.fh = FH_FALLBACK;
	out.open_flags = FOPEN_KEEP_CACHE;
	if (rc == 2) {
		/*
		 * The inode is in passthrough mode on its old blob: only a
		 * direct-I/O open (no page cache, no io mode) may read the
		 * new one beside it.
		 */
		out.fh = FH_DIRECT;
		out.open_flags = FOPEN_DIRECT_IO;
	}
	mfs_stats_count(MFS_C_FALLBACK_OPENS, 1);
	mfs_prefetch_opened(n);
	mfs_reply_ok(r, &out, sizeof(out));
}

/* Empties a worker's pipe after a failed splice reply (`n` bytes in it). */
static void drain_pipe(struct mfs_worker *w, size_t n)
{
	while (n > 0) {
		ssize_t k = read(w->pipe[0], w->data,
				 n < MFS_DATA_BUF_SIZE ? n : MFS_DATA_BUF_SIZE);

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
	size_t moved = 0, total = sizeof(out) + want, page = r->d->page;
	ssize_t k;

	if (w->pipe[0] < 0 || __atomic_load_n(&g_no_splice, __ATOMIC_RELAXED))
		return -1;
	/* one buffer for the header, one per page of data */
	if (((off % page) + want + page - 1) / page + 1 > w->pipe_pages)
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
	const struct mfs_image *img = r->img;
	const struct mfs_inode *n = node_of(r);
	const struct fuse_read_in *in = r->arg;
	uint64_t ino = r->h->nodeid;
	size_t want, got = 0;
	int fd, owned;

	if (!n)
		return;
	NEED_ARG(r, struct fuse_read_in);
	if (!S_ISREG(n->mode)) {
		mfs_reply_err(r, EISDIR);
		return;
	}
	if (n->flags & MFS_INODE_INLINE) {
		want = 0;
		if (in->offset < n->size) {
			want = n->size - in->offset;
			if (want > in->size)
				want = in->size;
		}
		mfs_reply_ok(r, want ? img->strings + n->a + in->offset : NULL,
			     want);
		return;
	}
	fd = mfs_blob_fd(r->h->opcode, img, ino, n, NULL, &owned);
	if (fd < 0) {
		mfs_reply_err(r, EIO);
		return;
	}
	want = in->size < MFS_DATA_BUF_SIZE ? in->size : MFS_DATA_BUF_SIZE;
	if (in->offset >= n->size)
		want = 0;
	else if (want > n->size - in->offset)
		want = n->size - in->offset;
	if (want > 0 && read_splice(r, fd, in->offset, want) == 0) {
		if (owned)
			close(fd);
		return;
	}
	while (got < want) {
		ssize_t k = pread(fd, r->w->data + got, want - got,
				  in->offset + got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int saved = errno;
			char path[4096];

			mfs_image_path(img, ino, path, sizeof(path));
			mfs_log("op=READ nodeid=%llu path=%s pread: %s",
				(unsigned long long)ino, path,
				strerror(saved));
			mfs_stats_count(MFS_C_BLOB_ERRORS, 1);
			if (owned)
				close(fd);
			mfs_reply_err(r, EIO);
			return;
		}
		if (k == 0)
			break;
		got += k;
	}
	if (owned)
		close(fd);
	mfs_stats_count(MFS_C_FALLBACK_READS, 1);
	mfs_stats_count(MFS_C_FALLBACK_BYTES, got);
	mfs_reply_ok(r, r->w->data, got);
}

static void mfs_op_release(struct mfs_req *r)
{
	const struct fuse_release_in *in = r->arg;
	const struct mfs_inode *n = node_of(r);

	if (!n)
		return;
	NEED_ARG(r, struct fuse_release_in);
	if (in->fh != FH_INLINE)
		mfs_prefetch_released(n);
	if (in->fh != FH_PASSTHROUGH) {
		mfs_reply_ok(r, NULL, 0);
		return;
	}
	mfs_pt_release(r->h, r->w->fd);
	mfs_reply_ok(r, NULL, 0);
}

static void mfs_op_opendir(struct mfs_req *r)
{
	const struct mfs_inode *n = node_of(r);
	struct mfs_open_out out;

	if (!n)
		return;
	if (!S_ISDIR(n->mode)) {
		mfs_reply_err(r, ENOTDIR);
		return;
	}
	memset(&out, 0, sizeof(out));
	out.open_flags = FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE;
	mfs_reply_ok(r, &out, sizeof(out));
}

/* Entry i of a listing: 0 ".", 1 "..", 2.. the children in image order. */
static int dir_entry(const struct mfs_image *img,
		     const struct mfs_inode *dir, uint64_t self,
		     uint64_t i, const char **name, size_t *len,
		     uint64_t *ino)
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
	d = &img->dirents[dir->a + i - 2];
	*name = img->strings + d->name_off;
	*len = d->name_len;
	*ino = d->nodeid;
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
		mfs_reply_err(r, ENOTDIR);
		return;
	}
	size = in->size < MFS_DATA_BUF_SIZE ? in->size : MFS_DATA_BUF_SIZE;
	for (i = in->offset;; i++) {
		const struct mfs_inode *n;
		const char *name;
		size_t len, rec, hdr;
		struct fuse_dirent *de;
		uint64_t ino;

		if (!dir_entry(r->img, dir, r->h->nodeid, i, &name, &len,
			       &ino))
			break;
		n = mfs_image_inode(r->img, ino);
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
	mfs_reply_ok(r, r->w->data, pos);
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
	mfs_reply_ok(r, NULL, 0);
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

		mfs_log("op=STATFS fstatvfs %s: %s", r->img->objects_dir,
			strerror(saved));
		out.st.bsize = out.st.frsize = 4096;
		out.st.files = r->img->inode_count;
	}
	out.st.namelen = 255;
	mfs_reply_ok(r, &out, sizeof(out));
}

static void mfs_op_access(struct mfs_req *r)
{
	const struct fuse_access_in *in = r->arg;

	if (!node_of(r))
		return;
	NEED_ARG(r, struct fuse_access_in);
	if (in->mask & W_OK) {
		mfs_reply_err(r, EROFS);
		return;
	}
	mfs_reply_ok(r, NULL, 0);
}

static void mfs_op_getxattr(struct mfs_req *r)
{
	if (!node_of(r))
		return;
	mfs_reply_err(r, ENODATA);
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
		mfs_reply_ok(r, &out, sizeof(out));
		return;
	}
	mfs_reply_ok(r, NULL, 0);
}

static void mfs_op_flush(struct mfs_req *r)
{
	mfs_reply_ok(r, NULL, 0);
}

static void mfs_op_fsync(struct mfs_req *r)
{
	mfs_reply_ok(r, NULL, 0);
}

static void mfs_op_interrupt(struct mfs_req *r)
{
	/* every request is answered at once: nothing to interrupt */
	(void)r;
	mfs_stats_count(MFS_C_INTERRUPTS, 1);
}

static void mfs_op_readonly(struct mfs_req *r)
{
	mfs_reply_err(r, EROFS);
}

/*
 * The one dispatch table. It lives here, beside the handlers, and main()
 * hands it to mfs_serve(): the handlers call serve.c's reply helpers, so
 * serve.c must not name them, or the two files would call each other (as
 * libfuse's lowlevel loop gets its ops from the filesystem it serves).
 */
const mfs_handler mfs_ops[] = {
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

const size_t mfs_ops_count = sizeof(mfs_ops) / sizeof(mfs_ops[0]);
