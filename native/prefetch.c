// SPDX-License-Identifier: Apache-2.0
/*
 * Prefetch on open. A loader that maps a weight file and copies tensor after
 * tensor alternates faulting and working; the kernel reads ahead only a
 * window, and on shared storage with few or slow requests the faults
 * themselves are slow. On the open of a file the image marks as a weight
 * file, a pool of PF_THREADS threads reads its blob ahead, PF_PIECE at a
 * time: the pieces are handed out in file order, so up to PF_THREADS
 * pieces (32 MiB) are in flight just ahead of the loader. A loader that
 * faults on a page under read waits for that read instead of issuing its
 * own read_ahead_kb-sized one; on a volume limited in requests per second
 * (200 IOPS, read_ahead_kb 128) one thread 16 MiB ahead left an mmap page
 * walk of a cold 512 MiB file at 2.5-3.0 s against 0.9-1.0 s for a
 * sequential read (468-500 requests against 150), eight threads on 4 MiB
 * pieces brought it to 0.83-0.97 s with 171-173 requests. The first piece
 * is the opener's: its read is submitted before the open is answered
 * (start_first_piece), so it is under way before the loader's first fault.
 *
 * A piece is read by faulting it into a MADV_HUGEPAGE mapping of the blob
 * (MADV_POPULATE_READ), then unmapping it (MADV_DONTNEED: the pages stay
 * in the page cache, the daemon keeps none mapped). In such a mapping a
 * fault reads 4 MiB into 2 MiB folios whatever read_ahead_kb is. Measured
 * on ext4 on this kernel, the other ways fill the cache with small folios,
 * and a loader's later mmap walk of the cached file is slower by as much:
 * readahead(2) and fadvise(WILLNEED) make 4 KiB folios (1.7 GB/s against
 * 134), a fault in an ordinary mapping reads only read_ahead_kb, and
 * pread(2) of pieces that do not follow one another on one file makes
 * folios as small as the piece lets the kernel's readahead ramp up to
 * (15 GB/s against 150-210 after a sequential read or this). pread(2) into
 * a buffer is the fallback where the kernel has no MADV_HUGEPAGE or
 * MADV_POPULATE_READ; its buffer is held only while a thread is busy.
 * Pages already cached are skipped: the thread that opens the blob first
 * looks for its first piece not wholly resident, so a warm open wakes no
 * other thread, and every piece is checked with mincore(2) before it is read.
 * A blob has at most one prefetch; it stops when no open of it is left.
 * The reads are the daemon's own, so a cgroup limit on the daemon applies.
 * Calls blob.c, stats.c, log.c.
 *
 * Locks: g_lock guards the table and the queue; it is never held across a
 * syscall (the blob is opened, mapped and read with it released) and never
 * with another lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob.h"
#include "log.h"
#include "prefetch.h"
#include "stats_file.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22	/* Linux 5.14; older kernels answer EINVAL */
#endif

#define PF_THREADS	8
#define PF_PIECE	(4 << 20)	/* two PMD folios: what one fault reads */
#define PF_SLOTS	4096		/* a power of two */
#define PF_QUEUE	256

/*
 * FREE -> QUEUED (an open) -> OPENING (a thread opens and maps the blob)
 * -> RUNNING (threads take pieces) -> DONE (opens left) or FREE.
 */
enum { PF_FREE, PF_QUEUED, PF_OPENING, PF_RUNNING, PF_DONE };

struct pf_entry {
	uint64_t tag;		/* the blob digest's first 8 bytes; 0 = free */
	uint8_t digest[32];
	uint64_t size;
	int opens;		/* opens of the blob answered, not released */
	int state;
	int in_queue;		/* on g_queue: threads still look at it */
	/* while RUNNING */
	int fd;
	uint8_t *map;
	int populate;		/* fault pieces in; 0: pread them */
	uint64_t next;		/* offset of the first piece nobody took */
	int workers;		/* threads reading a piece of it */
	int failed;
};

static struct pf_entry g_table[PF_SLOTS];
static uint32_t g_queue[PF_QUEUE];	/* table indexes, oldest first */
static uint32_t g_len;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static pthread_t g_threads[PF_THREADS];
static int g_nthreads;
static int g_stop;
static size_t g_page = 4096;

static uint64_t tag_of(const uint8_t digest[32])
{
	uint64_t t;

	memcpy(&t, digest, sizeof(t));
	return t ? t : 1;
}

/* the entry of `digest`, or a free slot for it; NULL: full. Under g_lock. */
static struct pf_entry *slot_for(const uint8_t digest[32], int want_free)
{
	uint64_t tag = tag_of(digest);
	struct pf_entry *free_slot = NULL;
	uint32_t i, k;

	for (i = 0, k = tag & (PF_SLOTS - 1); i < 64;
	     i++, k = (k + 1) & (PF_SLOTS - 1)) {
		struct pf_entry *e = &g_table[k];

		if (e->state == PF_FREE) {
			if (!free_slot)
				free_slot = e;
			continue;
		}
		if (e->tag == tag && !memcmp(e->digest, digest, 32))
			return e;
	}
	return want_free ? free_slot : NULL;
}

/*
 * Start the read of the first piece of a blob whose prefetch was just
 * queued, in the opener's thread, before the open is answered. A loader's
 * first fault or read comes right after its open; when it comes before a
 * pool thread's first read, the kernel reads that piece read_ahead_kb at a
 * time in the loader's faults while the reads of the pieces after it queue
 * ahead of them, so the piece the loader needs first comes last (traced
 * with block_rq_issue: the first piece of each shard done 150-190 ms after
 * its open, the shard's other 27 pieces before it). Started after the reply
 * instead, it races the loader: a 16 MiB read and this then take turns in
 * the piece and split it into 8 requests of 120-970 KiB. Measured on the
 * bench's 512 MiB model under 200 IOPS, read_ahead_kb 128, 8 alternating
 * rounds each: an mmap page walk took a median of 1.08 s (0.99-1.26, 187
 * requests) without this and 0.94 s (0.82-1.06, 162 requests) with it,
 * against 0.88 and 0.92 s for a sequential read.
 * POSIX_FADV_WILLNEED puts the piece's pages in the page cache, submits
 * their read and returns: the reply waits for no data (on a blob whose
 * block map is not cached, for that map, as the loader's read would), and
 * on a cached piece it reads nothing. Its folios are small (the piece goes
 * in 1 MiB requests, not one of 4 MiB); the pool thread that takes the
 * piece waits for them.
 */
static void start_first_piece(const struct mfs_inode *n)
{
	off_t len = n->size < PF_PIECE ? (off_t)n->size : PF_PIECE;
	int fd, e;

	fd = mfs_blob_open_digest(n->blake3);
	if (fd < 0)
		return;	/* the open that asked answered EIO already */
	e = posix_fadvise(fd, 0, len, POSIX_FADV_WILLNEED);
	if (e)
		mfs_log("prefetch: posix_fadvise(WILLNEED) of a blob's first %lld bytes: %s",
			(long long)len, strerror(e));
	close(fd);
}

void mfs_prefetch_opened(const struct mfs_inode *n)
{
	struct pf_entry *e;
	int queued = 0;

	if (!(n->flags & MFS_INODE_PREFETCH) || n->size == 0 || !g_nthreads)
		return;
	pthread_mutex_lock(&g_lock);
	e = slot_for(n->blake3, 1);
	if (e && e->state != PF_FREE) {
		e->opens++;
	} else if (e && g_len < PF_QUEUE) {
		memset(e, 0, sizeof(*e));
		e->tag = tag_of(n->blake3);
		memcpy(e->digest, n->blake3, 32);
		e->size = n->size;
		e->opens = 1;
		e->state = PF_QUEUED;
		e->in_queue = 1;
		e->fd = -1;
		g_queue[g_len++] = e - g_table;
		pthread_cond_signal(&g_cond);
		queued = 1;
	}
	/* else: the table or the queue is full; this blob goes unprefetched */
	pthread_mutex_unlock(&g_lock);
	if (queued)
		start_first_piece(n);
}

void mfs_prefetch_released(const struct mfs_inode *n)
{
	struct pf_entry *e;

	if (!(n->flags & MFS_INODE_PREFETCH) || !g_nthreads)
		return;
	pthread_mutex_lock(&g_lock);
	e = slot_for(n->blake3, 0);
	/* an open answered by an earlier daemon generation is not counted here */
	if (e && e->opens > 0 && --e->opens == 0 && e->state == PF_DONE)
		e->state = PF_FREE;
	/* a RUNNING one: the threads see it drained at their next piece */
	pthread_mutex_unlock(&g_lock);
}

/* No piece of a RUNNING entry is left to hand out. Under g_lock. */
static int drained(const struct pf_entry *e)
{
	return e->next >= e->size || e->opens == 0 || e->failed || g_stop;
}

static void unqueue(uint32_t i)
{
	g_table[g_queue[i]].in_queue = 0;
	memmove(&g_queue[i], &g_queue[i + 1], (g_len - i - 1) * sizeof(g_queue[0]));
	g_len--;
}

static void unqueue_entry(const struct pf_entry *e)
{
	uint32_t i;

	for (i = 0; i < g_len; i++)
		if (&g_table[g_queue[i]] == e) {
			unqueue(i);
			return;
		}
}

/* Open and map the blob of `e` (OPENING); 0, or -1 logged. */
static int open_entry(struct pf_entry *e, const uint8_t digest[32], uint64_t size)
{
	uint8_t *map;
	int fd;

	fd = mfs_blob_open_digest(digest);
	if (fd < 0)
		return -1;	/* the open that asked answered EIO already */
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		int saved = errno;

		mfs_log("prefetch: mmap of a %llu-byte blob: %s",
			(unsigned long long)size, strerror(saved));
		close(fd);
		return -1;
	}
	/* EINVAL where the kernel has no transparent huge pages: pread then */
	e->populate = madvise(map, size, MADV_HUGEPAGE) == 0;
	e->fd = fd;
	e->map = map;
	return 0;
}

/* Unmap and close the blob of a drained entry nobody reads a piece of. */
static void close_entry(struct pf_entry *e)
{
	munmap(e->map, e->size);
	close(e->fd);
	e->map = NULL;
	e->fd = -1;
}

/* Bytes of [off, off + len) of the mapping in the page cache. */
static uint64_t resident(const uint8_t *map, uint64_t off, uint64_t len,
			 unsigned char *vec)
{
	uint64_t pages = (len + g_page - 1) / g_page, i, n = 0;

	if (mincore((void *)(map + off), len, vec) < 0)
		return 0;
	for (i = 0; i < pages; i++)
		n += vec[i] & 1;
	n *= g_page;
	return n > len ? len : n;
}

/*
 * The offset of the first piece of the blob not wholly in the page cache,
 * or its size: one thread looks before the others are woken, so opening a
 * cached blob (every warm load) costs one pass of mincore(2) and no
 * wake-ups, not eight threads taking turns at g_lock for every piece.
 */
static uint64_t first_missing(const uint8_t *map, uint64_t size,
			      unsigned char *vec)
{
	uint64_t off, len;

	for (off = 0; off < size; off += len) {
		len = size - off < PF_PIECE ? size - off : PF_PIECE;
		if (resident(map, off, len, vec) != len)
			break;
	}
	return off < size ? off : size;
}

/* Read [off, off + len) of the blob into `buf`. */
static int pread_piece(int fd, char *buf, uint64_t off, uint64_t len)
{
	uint64_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, buf + done, len - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mfs_log("prefetch: pread at %llu: %s: stopping",
				(unsigned long long)(off + done), strerror(errno));
			return -1;
		}
		if (n == 0) {
			mfs_log("prefetch: blob ends at %llu, before its size: stopping",
				(unsigned long long)(off + done));
			return -1;
		}
		done += n;
	}
	return 0;
}

/* Fault [off, off + len) in, then drop the daemon's mapping of it; 1: pread. */
static int populate_piece(uint8_t *map, uint64_t off, uint64_t len)
{
	if (madvise(map + off, len, MADV_POPULATE_READ) < 0) {
		if (errno == EINVAL)
			return 1;	/* before Linux 5.14: pread instead */
		/* EFAULT: the blob is shorter than the view says */
		mfs_log("prefetch: reading a piece at %llu: %s: stopping",
			(unsigned long long)off, strerror(errno));
		return -1;
	}
	madvise(map + off, len, MADV_DONTNEED);
	return 0;
}

/*
 * Read the piece at `off` of a RUNNING entry unless it is resident (its
 * fd, map and size do not change while a thread reads it); 0, 1: read,
 * and do not fault the next piece in, or -1: stop the blob.
 */
static int read_piece(const struct pf_entry *e, int populate, uint64_t off,
		      unsigned char *vec, char **buf)
{
	uint64_t len = e->size - off < PF_PIECE ? e->size - off : PF_PIECE;
	uint64_t have = resident(e->map, off, len, vec);
	int r = 1, fallback = 0;

	mfs_stats_count(MFS_C_PREFETCH_RESIDENT, have);
	if (have == len)
		return 0;
	if (populate)
		r = populate_piece(e->map, off, len);
	if (r > 0) {
		fallback = populate;
		/* per busy thread, not per daemon: an idle daemon holds none */
		if (!*buf)
			*buf = malloc(PF_PIECE);
		if (!*buf) {
			mfs_log("prefetch: no memory for a %d-byte buffer", PF_PIECE);
			return -1;
		}
		r = pread_piece(e->fd, *buf, off, len);
	}
	if (r < 0)
		return r;
	mfs_stats_count(MFS_C_PREFETCH_BYTES, len - have);
	return fallback;
}

/*
 * The work for a thread, under g_lock: the oldest queued entry with a piece
 * left or still to open. Drained entries leave the queue on the way; one
 * nobody reads any more is returned in *to_close.
 */
static struct pf_entry *next_work(struct pf_entry **to_close)
{
	uint32_t i = 0;

	*to_close = NULL;
	while (i < g_len) {
		struct pf_entry *e = &g_table[g_queue[i]];

		if (e->state == PF_QUEUED && e->opens == 0) {
			unqueue(i);
			e->state = PF_FREE;
		} else if (e->state == PF_RUNNING && drained(e)) {
			unqueue(i);
			if (e->workers == 0) {
				*to_close = e;
				return NULL;
			}
		} else if (e->state == PF_OPENING) {
			i++;
		} else {
			return e;
		}
	}
	return NULL;
}

/* `e` is drained and unread: close it and free or keep its slot. */
static void finish_entry(struct pf_entry *e)
{
	pthread_mutex_unlock(&g_lock);
	close_entry(e);
	pthread_mutex_lock(&g_lock);
	e->state = e->opens > 0 ? PF_DONE : PF_FREE;
}

static void *prefetch_main(void *arg)
{
	unsigned char vec[PF_PIECE / 4096 + 1];
	char *buf = NULL;
	sigset_t all;

	(void)arg;
	/*
	 * Signals are for the workers (the stop signal is sent to each by
	 * pthread_kill) and the main thread: a read-ahead thread takes none, so
	 * a process-directed signal never lands here and interrupts nothing.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&g_lock);
	while (!g_stop) {
		struct pf_entry *e, *to_close;
		uint8_t digest[32];
		uint64_t off, size;
		int r, populate;

		e = next_work(&to_close);
		if (to_close) {
			finish_entry(to_close);
			continue;
		}
		if (!e) {
			free(buf);	/* idle: hold no buffer */
			buf = NULL;
			pthread_cond_wait(&g_cond, &g_lock);
			continue;
		}
		if (e->state == PF_QUEUED) {
			e->state = PF_OPENING;
			memcpy(digest, e->digest, 32);
			size = e->size;
			pthread_mutex_unlock(&g_lock);
			r = open_entry(e, digest, size);
			off = r < 0 ? 0 : first_missing(e->map, size, vec);
			pthread_mutex_lock(&g_lock);
			if (r < 0) {
				unqueue_entry(e);
				e->state = e->opens > 0 ? PF_DONE : PF_FREE;
				continue;
			}
			mfs_stats_count(MFS_C_PREFETCHES, 1);
			mfs_stats_count(MFS_C_PREFETCH_RESIDENT, off);
			e->next = off;
			e->state = PF_RUNNING;
			if (off < size)
				pthread_cond_broadcast(&g_cond);	/* pieces for the others */
			continue;
		}
		off = e->next;
		e->next += PF_PIECE;
		e->workers++;
		populate = e->populate;
		pthread_mutex_unlock(&g_lock);
		r = read_piece(e, populate, off, vec, &buf);
		pthread_mutex_lock(&g_lock);
		e->workers--;
		if (r < 0)
			e->failed = 1;
		if (r > 0)
			e->populate = 0;
		if (!e->in_queue && e->workers == 0)
			finish_entry(e);	/* taken off the queue while read */
	}
	pthread_mutex_unlock(&g_lock);
	free(buf);
	return NULL;
}
int mfs_prefetch_setup(void)
{
	int i, e;

	if (sysconf(_SC_PAGESIZE) > 0)
		g_page = sysconf(_SC_PAGESIZE);
	g_stop = 0;
	for (i = 0; i < PF_THREADS; i++) {
		e = pthread_create(&g_threads[i], NULL, prefetch_main, NULL);
		if (e) {
			mfs_log("prefetch: pthread_create: %s: %d threads",
				strerror(e), i);
			break;
		}
	}
	g_nthreads = i;
	return i > 0 ? 0 : -1;
}

void mfs_prefetch_teardown(void)
{
	int i;

	pthread_mutex_lock(&g_lock);
	g_stop = 1;
	pthread_cond_broadcast(&g_cond);
	pthread_mutex_unlock(&g_lock);
	for (i = 0; i < g_nthreads; i++)
		pthread_join(g_threads[i], NULL);
	g_nthreads = 0;
	/* the threads are gone: what they left mapped is closed here */
	for (i = 0; i < PF_SLOTS; i++)
		if (g_table[i].state == PF_RUNNING)
			close_entry(&g_table[i]);
	memset(g_table, 0, sizeof(g_table));
	g_len = 0;
}
