// SPDX-License-Identifier: Apache-2.0
/*
 * Prefetch on open. A loader that maps a weight file and copies tensor after
 * tensor alternates faulting and working; the kernel reads ahead only a
 * window, and on shared storage with few or slow requests the faults
 * themselves are slow. On the open of a file the image marks as a weight
 * file, PF_THREADS threads read its blob ahead: pread(2) into a PF_BUF
 * buffer, one chunk of PF_CHUNK at a time per thread, skipping what
 * mincore(2) says is resident. Reads, not readahead(2), fadvise(WILLNEED)
 * or faulting a mapping in (MADV_POPULATE_READ): measured on ext4 on this
 * kernel, readahead(2) and fadvise fill the page cache with 4 KiB folios
 * (a loader's later mmap walk of the cached file ran at 1.7 GB/s instead
 * of 134) and made 2 MiB requests where a read made 3.8 MiB ones; a fault
 * reads ahead only read_ahead_kb, so with the common 128 KiB it made 4,101
 * requests per GiB where a 4 MiB read made 858, and small folios again.
 * A read takes the kernel's ordinary readahead path, sized by the request,
 * with its large folios, the same as a reader's own; a 16 MiB one makes
 * requests as large as a loader's 16 MiB reads, so on a volume limited in
 * requests per second the prefetch's requests cost what the loader's do.
 * The copy into the buffer costs about 0.2 s of system time per GiB; the
 * buffer is allocated per blob, so an idle daemon holds none.
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

#define PF_THREADS	2
#define PF_CHUNK	(16 << 20)
#define PF_BUF		PF_CHUNK	/* one read per chunk, as large as a loader's */
#define PF_SLOTS	4096		/* a power of two */
#define PF_QUEUE	256


enum { PF_FREE, PF_QUEUED, PF_RUNNING, PF_DONE };

struct pf_entry {
	uint64_t tag;		/* the blob digest's first 8 bytes; 0 = free */
	uint8_t digest[32];
	uint64_t size;
	int opens;		/* opens of the blob answered, not released */
	int state;
};

static struct pf_entry g_table[PF_SLOTS];
static uint32_t g_queue[PF_QUEUE];
static uint32_t g_head, g_len;
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

void mfs_prefetch_opened(const struct mfs_inode *n)
{
	struct pf_entry *e;

	if (!(n->flags & MFS_INODE_PREFETCH) || n->size == 0 || !g_nthreads)
		return;
	pthread_mutex_lock(&g_lock);
	e = slot_for(n->blake3, 1);
	if (e && e->state != PF_FREE) {
		e->opens++;
	} else if (e && g_len < PF_QUEUE) {
		e->tag = tag_of(n->blake3);
		memcpy(e->digest, n->blake3, 32);
		e->size = n->size;
		e->opens = 1;
		e->state = PF_QUEUED;
		g_queue[(g_head + g_len++) % PF_QUEUE] = e - g_table;
		pthread_cond_signal(&g_cond);
	}
	/* else: the table or the queue is full; this blob goes unprefetched */
	pthread_mutex_unlock(&g_lock);
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
	pthread_mutex_unlock(&g_lock);
}

static int still_wanted(struct pf_entry *e)
{
	int yes;

	pthread_mutex_lock(&g_lock);
	yes = e->opens > 0 && !g_stop;
	pthread_mutex_unlock(&g_lock);
	return yes;
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

/* Read [off, off + len) of the blob into `buf`, PF_BUF at a time. */
static int fill_chunk(int fd, char *buf, uint64_t off, uint64_t len)
{
	uint64_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, buf, len - done < PF_BUF ? len - done : PF_BUF,
			  off + done);
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

static void prefetch_blob(struct pf_entry *e, const uint8_t digest[32],
			  uint64_t size, unsigned char *vec)
{
	const uint8_t *map;
	uint64_t off, len, have;
	char *buf;
	int fd;

	fd = mfs_blob_open_digest(digest);
	if (fd < 0)
		return;		/* the open that asked answered EIO already */
	/* per blob, not per thread: an idle daemon holds no buffer */
	buf = malloc(PF_BUF);
	if (!buf) {
		mfs_log("prefetch: no memory for a %d-byte buffer", PF_BUF);
		close(fd);
		return;
	}
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		int saved = errno;

		mfs_log("prefetch: mmap of a %llu-byte blob: %s",
			(unsigned long long)size, strerror(saved));
		free(buf);
		close(fd);
		return;
	}
	mfs_stats_count(MFS_C_PREFETCHES, 1);
	for (off = 0; off < size && still_wanted(e); off += len) {
		len = size - off < PF_CHUNK ? size - off : PF_CHUNK;
		have = resident(map, off, len, vec);
		mfs_stats_count(MFS_C_PREFETCH_RESIDENT, have);
		if (have == len)
			continue;
		if (fill_chunk(fd, buf, off, len) < 0)
			break;
		mfs_stats_count(MFS_C_PREFETCH_BYTES, len - have);
	}
	munmap((void *)map, size);
	free(buf);
	close(fd);
}

static void *prefetch_main(void *arg)
{
	unsigned char *vec = malloc(PF_CHUNK / 4096 + 1);
	sigset_t all;

	(void)arg;
	/*
	 * Signals are for the workers (the stop signal is sent to each by
	 * pthread_kill) and the main thread: a read-ahead thread takes none, so
	 * a process-directed signal never lands here and interrupts nothing.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		struct pf_entry *e;
		uint8_t digest[32];
		uint64_t size;

		pthread_mutex_lock(&g_lock);
		while (!g_stop && g_len == 0)
			pthread_cond_wait(&g_cond, &g_lock);
		if (g_stop) {
			pthread_mutex_unlock(&g_lock);
			break;
		}
		e = &g_table[g_queue[g_head]];
		g_head = (g_head + 1) % PF_QUEUE;
		g_len--;
		e->state = PF_RUNNING;
		memcpy(digest, e->digest, 32);
		size = e->size;
		pthread_mutex_unlock(&g_lock);

		if (vec)
			prefetch_blob(e, digest, size, vec);

		pthread_mutex_lock(&g_lock);
		e->state = e->opens > 0 ? PF_DONE : PF_FREE;
		pthread_mutex_unlock(&g_lock);
	}
	free(vec);
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
}
