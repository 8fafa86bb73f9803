// SPDX-License-Identifier: Apache-2.0
/*
 * loadgen: the load generator of `npm run bench`. It reads model files the
 * way real loaders do, so the bench measures the filesystem and not Node's
 * thread pool (which cannot mmap and caps parallel reads at 4 threads).
 *
 * Built at bench time with `cc -O2 -pthread` into bench/build/ (gitignored).
 * Every mode prints one JSON line on stdout; errors go to stderr with the
 * path and strerror, and the exit status is 1.
 *
 *   loadgen seq    <block> <verify> FILE...        one reader, read(2) of <block> bytes
 *   loadgen pread  <threads> <chunk> <interleave|ranges> <verify> FILE...
 *                  interleave: threads take <chunk>-sized pieces from one queue
 *                  (fastsafetensors); ranges: each thread reads its own
 *                  contiguous part of each file in <chunk> pieces (Run:ai streamer)
 *   loadgen mmap   <verify> FILE...                mmap, touch every 4 KiB page
 *   loadgen loader <verify> FILE...                safetensors header, then each tensor
 *   loadgen backend <all|io|work> <rate> <verify> REPO|FILE...
 *                  a backend's load: REPO is a hub cache folder
 *                  (models--org--name) resolved as huggingface_hub does, or
 *                  the shards are given; each is mmapped, its header read
 *                  through the map, every tensor copied out in header order
 *                  and worked on at <rate> bytes/s (all), not worked on
 *                  (io), or only the work, on memory (work)
 *   loadgen evict  FILE...                         posix_fadvise(DONTNEED)
 *   loadgen resident FILE...                       mincore(2) count of cached bytes
 *   loadgen stat   < list                          stat(2) each path read from stdin
 *   loadgen walk   DIR                             readdir + lstat of the whole tree
 *   loadgen first  FILE                            open + read of the first byte
 *
 * Read modes also print the loader's page faults over the timed part
 * (majflt, minflt), and with $LOADGEN_DEVSTAT (a /sys/block/<dev>/stat) the
 * device's requests, merges, bytes and busy ms over the same part (dev).
 * $LOADGEN_CGROUP: a cgroup to join first (see lg_join_cgroup).
 *
 * With <verify> = 1 a position-keyed checksum of every byte read is printed,
 * so the bench can check that every path served the same bytes (the smoke
 * run does this); it costs a pass over the data, so timed runs use 0.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

struct lg_file {
	const char *path;
	uint64_t size;
	uint64_t index;
};

static double lg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void lg_die(const char *what, const char *path)
{
	int e = errno;

	fprintf(stderr, "loadgen: %s %s: %s\n", what, path, strerror(e));
	exit(1);
}

/*
 * A checksum that does not depend on the order or the size of the pieces
 * read: every byte is keyed by its file and position and the results are
 * added, so one reader, 16 threads and an mmap give the same sum for the
 * same bytes. Byte by byte (about 1 GB/s): only verify runs use it.
 */
static uint64_t lg_sum(const unsigned char *buf, size_t len, uint64_t file,
		       uint64_t off)
{
	uint64_t acc = 0;

	for (size_t i = 0; i < len; i++) {
		uint64_t pos = (file << 40) + off + i;

		acc += (buf[i] + 1ULL) * ((pos * 0x9E3779B97F4A7C15ULL) | 1);
	}
	return acc;
}

static void *lg_buffer(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, PAGE, len ? len : PAGE) != 0) {
		fprintf(stderr, "loadgen: out of memory for %zu bytes\n", len);
		exit(1);
	}
	/* Fault the buffer in now so page faults of our own memory are not timed. */
	memset(p, 0, len);
	return p;
}

static void lg_files(int n, char **paths, struct lg_file *out)
{
	for (int i = 0; i < n; i++) {
		struct stat st;

		if (stat(paths[i], &st) != 0)
			lg_die("stat", paths[i]);
		out[i].path = paths[i];
		out[i].size = st.st_size;
		out[i].index = i;
	}
}

/*
 * What the timed part of a run cost below the page cache: the store
 * device's counters (/sys/block/<dev>/stat, named by $LOADGEN_DEVSTAT, read
 * right at the start and end of the timed part so process start and exit
 * are not counted) and this process's page faults (getrusage, all threads).
 */
struct lg_costs {
	/* reads completed, reads merged, sectors read, ms spent reading */
	uint64_t dev[4];
	int have_dev;
	long majflt, minflt;
};

static struct lg_costs lg_costs0;

static void lg_costs_read(struct lg_costs *c)
{
	const char *path = getenv("LOADGEN_DEVSTAT");
	struct rusage ru;

	c->have_dev = 0;
	if (path && *path) {
		FILE *f = fopen(path, "r");

		if (!f)
			lg_die("open", path);
		if (fscanf(f, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
			   &c->dev[0], &c->dev[1], &c->dev[2],
			   &c->dev[3]) != 4) {
			fprintf(stderr, "loadgen: %s: not a block device stat file\n",
				path);
			exit(1);
		}
		fclose(f);
		c->have_dev = 1;
	}
	getrusage(RUSAGE_SELF, &ru);
	c->majflt = ru.ru_majflt;
	c->minflt = ru.ru_minflt;
}

/* The clock starts: note the counters first, so reading them is not timed. */
static double lg_start(void)
{
	lg_costs_read(&lg_costs0);
	return lg_now();
}

/*
 * The JSON line of a read mode; `extra` (",\"key\":value...") or NULL
 * goes before the costs.
 */
static void lg_result_extra(uint64_t bytes, double seconds, int verify,
			    uint64_t sum, const char *extra)
{
	struct lg_costs c;

	lg_costs_read(&c);
	printf("{\"bytes\":%" PRIu64 ",\"seconds\":%.6f", bytes, seconds);
	if (verify)
		printf(",\"checksum\":\"%016" PRIx64 "\"", sum);
	if (extra)
		fputs(extra, stdout);
	printf(",\"majflt\":%ld,\"minflt\":%ld", c.majflt - lg_costs0.majflt,
	       c.minflt - lg_costs0.minflt);
	if (c.have_dev)
		printf(",\"dev\":{\"reads\":%" PRIu64 ",\"merges\":%" PRIu64
		       ",\"bytes\":%" PRIu64 ",\"ms\":%" PRIu64 "}",
		       c.dev[0] - lg_costs0.dev[0], c.dev[1] - lg_costs0.dev[1],
		       (c.dev[2] - lg_costs0.dev[2]) * 512,
		       c.dev[3] - lg_costs0.dev[3]);
	printf("}\n");
}

static void lg_result(uint64_t bytes, double seconds, int verify, uint64_t sum)
{
	lg_result_extra(bytes, seconds, verify, sum, NULL);
}

/* The backend mode also says how its time split: copying (faults too), work. */
static void lg_result_backend(uint64_t bytes, double seconds, int verify,
			      uint64_t sum, double copy_s, double work_s)
{
	char extra[128];

	snprintf(extra, sizeof(extra),
		 ",\"copySeconds\":%.6f,\"workSeconds\":%.6f", copy_s, work_s);
	lg_result_extra(bytes, seconds, verify, sum, extra);
}

/* Reads [off, off+len) of fd fully; short reads only at end of file. */
static uint64_t lg_pread_all(int fd, const char *path, unsigned char *buf,
			     uint64_t off, uint64_t len)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, buf + done, len - done, off + done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			lg_die("pread", path);
		}
		if (r == 0)
			break;
		done += r;
	}
	return done;
}

static int lg_seq(int argc, char **argv)
{
	size_t block = strtoull(argv[0], NULL, 0);
	int verify = atoi(argv[1]);
	int n = argc - 2;
	struct lg_file *files = calloc(n, sizeof(*files));
	unsigned char *buf = lg_buffer(block);
	uint64_t bytes = 0, sum = 0;
	double t0;

	lg_files(n, argv + 2, files);
	t0 = lg_start();
	for (int i = 0; i < n; i++) {
		int fd = open(files[i].path, O_RDONLY | O_CLOEXEC);
		uint64_t off = 0;

		if (fd < 0)
			lg_die("open", files[i].path);
		for (;;) {
			ssize_t r = read(fd, buf, block);

			if (r < 0) {
				if (errno == EINTR)
					continue;
				lg_die("read", files[i].path);
			}
			if (r == 0)
				break;
			if (verify)
				sum += lg_sum(buf, r, i, off);
			off += r;
		}
		bytes += off;
		close(fd);
	}
	lg_result(bytes, lg_now() - t0, verify, sum);
	return 0;
}

struct lg_pool {
	struct lg_file *files;
	int nfiles;
	int threads;
	uint64_t chunk;
	int ranges;
	int verify;
	/* interleave: next global chunk number to take */
	atomic_uint_fast64_t next;
	/* chunk numbers where each file starts (nfiles + 1 entries) */
	uint64_t *first;
	atomic_uint_fast64_t bytes;
	atomic_uint_fast64_t sum;
	/* every worker has its buffer faulted in before the clock starts */
	pthread_barrier_t ready;
};

struct lg_worker {
	struct lg_pool *pool;
	int id;
};

/*
 * Each thread opens the files itself, as a loader's workers do, so each
 * has its own file position and readahead state.
 */
static int lg_worker_fd(struct lg_pool *p, int *fds, int i)
{
	if (fds[i] < 0) {
		fds[i] = open(p->files[i].path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			lg_die("open", p->files[i].path);
	}
	return fds[i];
}

static void *lg_worker_run(void *arg)
{
	struct lg_worker *w = arg;
	struct lg_pool *p = w->pool;
	unsigned char *buf = lg_buffer(p->chunk);
	int *fds = malloc(sizeof(int) * p->nfiles);
	uint64_t bytes = 0, sum = 0;

	for (int i = 0; i < p->nfiles; i++)
		fds[i] = -1;
	pthread_barrier_wait(&p->ready);
	if (p->ranges) {
		for (int i = 0; i < p->nfiles; i++) {
			uint64_t size = p->files[i].size;
			uint64_t part = (size + p->threads - 1) / p->threads;
			uint64_t lo = part * w->id, hi = lo + part;

			if (hi > size)
				hi = size;
			for (uint64_t off = lo; off < hi; off += p->chunk) {
				uint64_t len = hi - off < p->chunk ? hi - off : p->chunk;
				int fd = lg_worker_fd(p, fds, i);
				uint64_t got = lg_pread_all(fd, p->files[i].path, buf, off, len);

				if (p->verify)
					sum += lg_sum(buf, got, i, off);
				bytes += got;
			}
		}
	} else {
		uint64_t total = p->first[p->nfiles];

		for (;;) {
			uint64_t c = atomic_fetch_add(&p->next, 1);
			int i = 0;

			if (c >= total)
				break;
			while (p->first[i + 1] <= c)
				i++;
			uint64_t off = (c - p->first[i]) * p->chunk;
			uint64_t len = p->files[i].size - off;

			if (len > p->chunk)
				len = p->chunk;
			uint64_t got = lg_pread_all(lg_worker_fd(p, fds, i),
						    p->files[i].path, buf, off, len);

			if (p->verify)
				sum += lg_sum(buf, got, i, off);
			bytes += got;
		}
	}
	for (int i = 0; i < p->nfiles; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	free(buf);
	atomic_fetch_add(&p->bytes, bytes);
	atomic_fetch_add(&p->sum, sum);
	return NULL;
}

static int lg_pread(int argc, char **argv)
{
	struct lg_pool p = { 0 };
	pthread_t *tids;
	struct lg_worker *workers;
	double t0;

	p.threads = atoi(argv[0]);
	p.chunk = strtoull(argv[1], NULL, 0);
	p.ranges = strcmp(argv[2], "ranges") == 0;
	p.verify = atoi(argv[3]);
	p.nfiles = argc - 4;
	p.files = calloc(p.nfiles, sizeof(*p.files));
	p.first = calloc(p.nfiles + 1, sizeof(uint64_t));
	lg_files(p.nfiles, argv + 4, p.files);
	for (int i = 0; i < p.nfiles; i++)
		p.first[i + 1] = p.first[i] + (p.files[i].size + p.chunk - 1) / p.chunk;
	tids = calloc(p.threads, sizeof(*tids));
	workers = calloc(p.threads, sizeof(*workers));
	pthread_barrier_init(&p.ready, NULL, p.threads + 1);
	for (int t = 0; t < p.threads; t++) {
		workers[t].pool = &p;
		workers[t].id = t;
		if (pthread_create(&tids[t], NULL, lg_worker_run, &workers[t]) != 0) {
			fprintf(stderr, "loadgen: pthread_create failed\n");
			return 1;
		}
	}
	pthread_barrier_wait(&p.ready);
	t0 = lg_start();
	for (int t = 0; t < p.threads; t++)
		pthread_join(tids[t], NULL);
	lg_result(p.bytes, lg_now() - t0, p.verify, p.sum);
	return 0;
}

static int lg_mmap(int argc, char **argv)
{
	int verify = atoi(argv[0]);
	int n = argc - 1;
	struct lg_file *files = calloc(n, sizeof(*files));
	uint64_t bytes = 0, sum = 0;
	volatile unsigned char sink = 0;
	double t0;

	lg_files(n, argv + 1, files);
	t0 = lg_start();
	for (int i = 0; i < n; i++) {
		int fd = open(files[i].path, O_RDONLY | O_CLOEXEC);
		unsigned char *m;
		unsigned char acc = 0;

		if (fd < 0)
			lg_die("open", files[i].path);
		if (files[i].size == 0) {
			close(fd);
			continue;
		}
		m = mmap(NULL, files[i].size, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			lg_die("mmap", files[i].path);
		if (verify)
			sum += lg_sum(m, files[i].size, i, 0);
		else
			for (uint64_t off = 0; off < files[i].size; off += PAGE)
				acc ^= m[off];
		sink ^= acc;
		bytes += files[i].size;
		munmap(m, files[i].size);
		close(fd);
	}
	lg_result(bytes, lg_now() - t0, verify, sum);
	(void)sink;
	return 0;
}

/*
 * Finds every "data_offsets":[a,b] in a safetensors JSON header. The bench
 * writes the headers itself, so this is a scan, not a JSON parser.
 */
static int lg_offsets(const char *json, uint64_t **out)
{
	const char *key = "\"data_offsets\"";
	int n = 0, cap = 64;
	uint64_t *v = malloc(sizeof(uint64_t) * 2 * cap);

	for (const char *p = strstr(json, key); p; p = strstr(p + 1, key)) {
		const char *q = strchr(p, '[');
		char *end;

		if (!q)
			break;
		if (n == cap) {
			cap *= 2;
			v = realloc(v, sizeof(uint64_t) * 2 * cap);
		}
		v[2 * n] = strtoull(q + 1, &end, 10);
		v[2 * n + 1] = strtoull(end + 1, NULL, 10);
		n++;
	}
	*out = v;
	return n;
}

static int lg_cmp_u64pair(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int lg_loader(int argc, char **argv)
{
	const uint64_t piece = 16ULL << 20;
	int verify = atoi(argv[0]);
	int n = argc - 1;
	struct lg_file *files = calloc(n, sizeof(*files));
	unsigned char *buf = lg_buffer(piece);
	uint64_t bytes = 0, sum = 0;
	double t0;

	lg_files(n, argv + 1, files);
	t0 = lg_start();
	for (int i = 0; i < n; i++) {
		int fd = open(files[i].path, O_RDONLY | O_CLOEXEC);
		unsigned char head8[8];
		uint64_t hlen = 0, *offs;
		char *json;
		int k;

		if (fd < 0)
			lg_die("open", files[i].path);
		if (lg_pread_all(fd, files[i].path, head8, 0, 8) != 8) {
			fprintf(stderr, "loadgen: %s: not a safetensors file\n", files[i].path);
			return 1;
		}
		for (int b = 7; b >= 0; b--)
			hlen = (hlen << 8) | head8[b];
		if (files[i].size < 8 || hlen > files[i].size - 8) {
			fprintf(stderr, "loadgen: %s: header length %" PRIu64 " too large\n",
				files[i].path, hlen);
			return 1;
		}
		json = malloc(hlen + 1);
		lg_pread_all(fd, files[i].path, (unsigned char *)json, 8, hlen);
		json[hlen] = 0;
		if (verify) {
			sum += lg_sum(head8, 8, i, 0);
			sum += lg_sum((unsigned char *)json, hlen, i, 8);
		}
		bytes += 8 + hlen;
		k = lg_offsets(json, &offs);
		qsort(offs, k, 2 * sizeof(uint64_t), lg_cmp_u64pair);
		for (int t = 0; t < k; t++) {
			uint64_t base = 8 + hlen;

			for (uint64_t o = offs[2 * t]; o < offs[2 * t + 1]; o += piece) {
				uint64_t len = offs[2 * t + 1] - o;

				if (len > piece)
					len = piece;
				uint64_t got = lg_pread_all(fd, files[i].path, buf, base + o, len);

				if (verify)
					sum += lg_sum(buf, got, i, base + o);
				bytes += got;
			}
		}
		free(offs);
		free(json);
		close(fd);
	}
	lg_result(bytes, lg_now() - t0, verify, sum);
	return 0;
}

/*
 * The per-byte work of a backend between two tensors, standing in for its
 * copy to the GPU: a 64-bit multiply hash of every byte copied out (so the
 * bytes are really touched), then a spin until `len / rate` seconds have
 * passed, so the work costs the same on every path and machine as long as
 * the hash alone is faster than the rate. rate 0: the hash only.
 */
static uint64_t lg_work(const unsigned char *buf, size_t len, double rate)
{
	double t0 = lg_now();
	uint64_t h[4] = { 0x243F6A8885A308D3ULL, 0x13198A2E03707344ULL,
			  0xA4093822299F31D0ULL, 0x082EFA98EC4E6C89ULL };
	size_t i = 0;

	/* Four independent lanes so the multiplies overlap: GB/s per core. */
	for (; i + 32 <= len; i += 32) {
		for (int k = 0; k < 4; k++) {
			uint64_t w;

			memcpy(&w, buf + i + 8 * k, 8);
			h[k] = (h[k] ^ w) * 0x9E3779B97F4A7C15ULL;
			h[k] ^= h[k] >> 29;
		}
	}
	for (; i < len; i++)
		h[0] = (h[0] ^ buf[i]) * 0x100000001B3ULL;
	if (rate > 0)
		while (lg_now() - t0 < len / rate)
			;
	return h[0] ^ h[1] ^ h[2] ^ h[3];
}

/* The whole of a small file, NUL-terminated; dies naming the path. */
static char *lg_slurp(const char *path, size_t *lenp)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	size_t len;

	if (fd < 0)
		lg_die("open", path);
	if (fstat(fd, &st) != 0)
		lg_die("fstat", path);
	buf = malloc(st.st_size + 1);
	if (!buf) {
		fprintf(stderr, "loadgen: out of memory reading %s\n", path);
		exit(1);
	}
	len = lg_pread_all(fd, path, (unsigned char *)buf, 0, st.st_size);
	buf[len] = 0;
	close(fd);
	if (lenp)
		*lenp = len;
	return buf;
}

static int lg_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * What huggingface_hub and transformers do to find the shards of a model in
 * the cache: refs/main names the commit, snapshots/<commit>/ holds the
 * files (symlinks to ../../blobs/<etag>), and the index's weight_map names
 * the shard of every tensor; transformers loads sorted(set(shards)). The
 * index is written by the bench, so this is a scan, not a JSON parser.
 */
static int lg_resolve_hub(const char *repo, char ***out)
{
	char path[4096], *commit, *index, *p, **shards = NULL;
	int n = 0, cap = 0;

	snprintf(path, sizeof(path), "%s/refs/main", repo);
	commit = lg_slurp(path, NULL);
	commit[strcspn(commit, " \t\r\n")] = 0;
	snprintf(path, sizeof(path),
		 "%s/snapshots/%s/model.safetensors.index.json", repo, commit);
	index = lg_slurp(path, NULL);
	p = strstr(index, "\"weight_map\"");
	p = p ? strchr(p, '{') : NULL;
	if (!p) {
		fprintf(stderr, "loadgen: %s: no weight_map\n", path);
		exit(1);
	}
	/* "tensor name": "shard file", ... } */
	for (p++; *p && *p != '}';) {
		char *k = strchr(p, '"'), *v, *ve;
		int seen = 0;

		if (!k || !(k = strchr(k + 1, '"')) ||
		    !(v = strchr(k + 1, '"')) || !(ve = strchr(v + 1, '"')))
			break;
		*ve = 0;
		for (int i = 0; i < n && !seen; i++)
			seen = !strcmp(strrchr(shards[i], '/') + 1, v + 1);
		if (!seen) {
			if (n == cap) {
				cap = cap ? 2 * cap : 8;
				shards = realloc(shards, sizeof(char *) * cap);
			}
			size_t len = strlen(repo) + strlen(commit) +
				     strlen(v + 1) + 16;

			shards[n] = malloc(len);
			snprintf(shards[n], len, "%s/snapshots/%s/%s", repo,
				 commit, v + 1);
			n++;
		}
		p = ve + 1;
		while (*p && strchr(" ,\n\r\t", *p))
			p++;
	}
	qsort(shards, n, sizeof(char *), lg_cmp_str);
	free(index);
	free(commit);
	*out = shards;
	return n;
}

/* A shard's header: where tensors start, their [begin, end) in header order. */
struct lg_header {
	uint64_t base;
	uint64_t *offs;
	int count;
};

static uint64_t lg_tensor_len(const struct lg_header *h, int t)
{
	return h->offs[2 * t + 1] - h->offs[2 * t];
}

static void lg_parse_header(const char *path, const char *json, uint64_t hlen,
			    uint64_t size, struct lg_header *h)
{
	h->base = 8 + hlen;
	h->count = lg_offsets(json, &h->offs);
	for (int t = 0; t < h->count; t++) {
		if (h->offs[2 * t + 1] < h->offs[2 * t] ||
		    h->base + h->offs[2 * t + 1] > size) {
			fprintf(stderr, "loadgen: %s: tensor %d is outside the file\n",
				path, t);
			exit(1);
		}
	}
}

/* The 8-byte little-endian header length, checked against the file size. */
static uint64_t lg_header_len(const char *path, const unsigned char *head8,
			      uint64_t size)
{
	uint64_t n = 0;

	if (size < 8) {
		fprintf(stderr, "loadgen: %s: not a safetensors file (%" PRIu64
			" bytes)\n", path, size);
		exit(1);
	}
	for (int b = 7; b >= 0; b--)
		n = (n << 8) | head8[b];
	if (n > size - 8) {
		fprintf(stderr, "loadgen: %s: not a safetensors file (header "
			"length %" PRIu64 ")\n", path, n);
		exit(1);
	}
	return n;
}

/* The shards: a hub cache folder is resolved, files are taken as given. */
static int lg_backend_sources(int n, char **argv, char ***paths)
{
	struct stat st;

	if (n == 1 && stat(argv[0], &st) == 0 && S_ISDIR(st.st_mode))
		return lg_resolve_hub(argv[0], paths);
	*paths = argv;
	return n;
}

/*
 * The work alone, on memory of its own, for every tensor of the shards:
 * their headers are read with pread before the clock starts, so no file
 * I/O is timed.
 */
static int lg_backend_work(int n, char **argv, double rate)
{
	char **paths;
	struct lg_header *hs;
	uint64_t bytes = 0, maxlen = 0;
	volatile uint64_t sink = 0;
	unsigned char *buf;
	double t0, seconds;

	n = lg_backend_sources(n, argv, &paths);
	hs = calloc(n, sizeof(*hs));
	for (int i = 0; i < n; i++) {
		int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		unsigned char head8[8] = { 0 };
		struct stat st;
		uint64_t hlen;
		char *json;

		if (fd < 0 || fstat(fd, &st) != 0)
			lg_die("open", paths[i]);
		lg_pread_all(fd, paths[i], head8, 0, 8);
		hlen = lg_header_len(paths[i], head8, st.st_size);
		json = malloc(hlen + 1);
		lg_pread_all(fd, paths[i], (unsigned char *)json, 8, hlen);
		json[hlen] = 0;
		lg_parse_header(paths[i], json, hlen, st.st_size, &hs[i]);
		for (int t = 0; t < hs[i].count; t++)
			if (lg_tensor_len(&hs[i], t) > maxlen)
				maxlen = lg_tensor_len(&hs[i], t);
		bytes += st.st_size;
		free(json);
		close(fd);
	}
	buf = lg_buffer(maxlen);
	t0 = lg_start();
	for (int i = 0; i < n; i++)
		for (int t = 0; t < hs[i].count; t++)
			sink ^= lg_work(buf, lg_tensor_len(&hs[i], t), rate);
	seconds = lg_now() - t0;
	lg_result_backend(bytes, seconds, 0, 0, 0, seconds);
	(void)sink;
	return 0;
}

/*
 * A backend's load as safetensors' default loader runs it: each shard is
 * opened by the path the hub cache resolves (or given directly), mapped,
 * its header read through the mapping, and every tensor in header order
 * copied out of the mapping into memory of its own (safe_open().get_tensor
 * copies into a new tensor), then worked on at `rate` bytes per second
 * before the next tensor is touched, as a loader that copies each tensor to
 * the GPU does. part "io": the same without the work; part "work": only the
 * work (lg_backend_work). Resolving the hub path is timed with the rest.
 */
static int lg_backend(int argc, char **argv)
{
	const char *part = argv[0];
	double rate = strtod(argv[1], NULL);
	int verify = atoi(argv[2]);
	int do_work = strcmp(part, "io") != 0;
	uint64_t bytes = 0, sum = 0, maxlen = 0;
	double t0, copy_s = 0, work_s = 0;
	volatile uint64_t sink = 0;
	unsigned char *buf = NULL;
	char **paths;
	int n;

	if (strcmp(part, "all") && strcmp(part, "io") && strcmp(part, "work")) {
		fprintf(stderr, "loadgen: backend: part must be all, io or work, "
			"not %s\n", part);
		return 2;
	}
	if (!strcmp(part, "work"))
		return lg_backend_work(argc - 3, argv + 3, rate);
	t0 = lg_start();
	n = lg_backend_sources(argc - 3, argv + 3, &paths);
	for (int i = 0; i < n; i++) {
		int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		struct lg_header h;
		struct stat st;
		unsigned char *m;
		uint64_t hlen;
		char *json;

		if (fd < 0)
			lg_die("open", paths[i]);
		if (fstat(fd, &st) != 0)
			lg_die("fstat", paths[i]);
		if (st.st_size < 8)
			lg_header_len(paths[i], NULL, st.st_size);
		m = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			lg_die("mmap", paths[i]);
		hlen = lg_header_len(paths[i], m, st.st_size);
		json = malloc(hlen + 1);
		memcpy(json, m + 8, hlen);
		json[hlen] = 0;
		lg_parse_header(paths[i], json, hlen, st.st_size, &h);
		if (verify) {
			sum += lg_sum(m, 8, i, 0);
			sum += lg_sum(m + 8, hlen, i, 8);
		}
		bytes += 8 + hlen;
		for (int t = 0; t < h.count; t++) {
			uint64_t len = lg_tensor_len(&h, t);
			uint64_t off = h.base + h.offs[2 * t];
			double c0;

			if (len > maxlen) {
				/* Faulted in here, so its faults are not in copy_s. */
				free(buf);
				maxlen = len;
				buf = lg_buffer(maxlen);
			}
			c0 = lg_now();
			memcpy(buf, m + off, len);
			copy_s += lg_now() - c0;
			if (verify)
				sum += lg_sum(buf, len, i, off);
			bytes += len;
			if (do_work) {
				c0 = lg_now();
				sink ^= lg_work(buf, len, rate);
				work_s += lg_now() - c0;
			}
		}
		free(h.offs);
		free(json);
		munmap(m, st.st_size);
		close(fd);
	}
	lg_result_backend(bytes, lg_now() - t0, verify, sum, copy_s, work_s);
	(void)sink;
	return 0;
}

static int lg_evict(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
		int e;

		if (fd < 0)
			lg_die("open", argv[i]);
		e = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		if (e != 0) {
			errno = e;
			lg_die("posix_fadvise", argv[i]);
		}
		close(fd);
	}
	printf("{\"files\":%d}\n", argc);
	return 0;
}

static int lg_resident(int argc, char **argv)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t resident = 0, size = 0;
	unsigned char *vec = NULL;
	size_t veclen = 0;

	for (int i = 0; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
		struct stat st;
		void *m;
		size_t pages;

		if (fd < 0)
			lg_die("open", argv[i]);
		if (fstat(fd, &st) != 0)
			lg_die("fstat", argv[i]);
		size += st.st_size;
		if (st.st_size == 0) {
			close(fd);
			continue;
		}
		m = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			lg_die("mmap", argv[i]);
		pages = (st.st_size + pg - 1) / pg;
		if (pages > veclen) {
			veclen = pages;
			vec = realloc(vec, veclen);
		}
		if (mincore(m, st.st_size, vec) != 0)
			lg_die("mincore", argv[i]);
		for (size_t p = 0; p < pages; p++)
			if (vec[p] & 1)
				resident += pg;
		munmap(m, st.st_size);
		close(fd);
	}
	free(vec);
	printf("{\"resident\":%" PRIu64 ",\"size\":%" PRIu64 "}\n", resident, size);
	return 0;
}

static int lg_stat(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	char **paths = NULL;
	size_t n = 0, ncap = 0;
	double t0;

	/* Read the whole list first so reading stdin is not timed. */
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = 0;
		if (!line[0])
			continue;
		if (n == ncap) {
			ncap = ncap ? ncap * 2 : 1024;
			paths = realloc(paths, sizeof(char *) * ncap);
		}
		paths[n++] = strdup(line);
	}
	t0 = lg_start();
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (stat(paths[i], &st) != 0)
			lg_die("stat", paths[i]);
	}
	printf("{\"entries\":%zu,\"seconds\":%.6f}\n", n, lg_now() - t0);
	return 0;
}

static uint64_t lg_walk_dir(int dirfd, const char *path)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *e;
	uint64_t n = 0;

	if (!d)
		lg_die("fdopendir", path);
	while ((errno = 0, e = readdir(d)) != NULL) {
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			lg_die("lstat", e->d_name);
		n++;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, e->d_name,
					 O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (sub < 0)
				lg_die("open", e->d_name);
			n += lg_walk_dir(sub, e->d_name);
		}
	}
	if (errno)
		lg_die("readdir", path);
	closedir(d);
	return n;
}

static int lg_walk(const char *dir)
{
	double t0 = lg_start();
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint64_t n;

	if (fd < 0)
		lg_die("open", dir);
	n = lg_walk_dir(fd, dir);
	printf("{\"entries\":%" PRIu64 ",\"seconds\":%.6f}\n", n, lg_now() - t0);
	return 0;
}

static int lg_first(const char *path)
{
	double t0 = lg_start();
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char b;

	if (fd < 0)
		lg_die("open", path);
	if (read(fd, &b, 1) != 1)
		lg_die("read", path);
	close(fd);
	printf("{\"bytes\":1,\"seconds\":%.6f}\n", lg_now() - t0);
	return 0;
}

static int lg_usage(void)
{
	fprintf(stderr, "usage: loadgen seq|pread|mmap|loader|backend|evict|resident|stat|walk|first ...\n"
			"(see the comment at the top of bench/loadgen.c)\n");
	return 2;
}

/*
 * $LOADGEN_CGROUP names a cgroup (the bench's blkio group of a throttled
 * volume): join it before any file is touched, so every read this process
 * and its threads make is charged to it.
 */
static void lg_join_cgroup(void)
{
	const char *dir = getenv("LOADGEN_CGROUP");
	char path[4096];
	FILE *f;

	if (!dir || !*dir)
		return;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "w");
	if (!f)
		lg_die("open", path);
	if (fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0)
		lg_die("write", path);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return lg_usage();
	lg_join_cgroup();
	const char *mode = argv[1];
	int n = argc - 2;
	char **a = argv + 2;

	if (!strcmp(mode, "seq") && n >= 3)
		return lg_seq(n, a);
	if (!strcmp(mode, "pread") && n >= 5)
		return lg_pread(n, a);
	if (!strcmp(mode, "mmap") && n >= 2)
		return lg_mmap(n, a);
	if (!strcmp(mode, "loader") && n >= 2)
		return lg_loader(n, a);
	if (!strcmp(mode, "backend") && n >= 4)
		return lg_backend(n, a);
	if (!strcmp(mode, "evict") && n >= 1)
		return lg_evict(n, a);
	if (!strcmp(mode, "resident") && n >= 1)
		return lg_resident(n, a);
	if (!strcmp(mode, "stat") && n == 0)
		return lg_stat();
	if (!strcmp(mode, "walk") && n == 1)
		return lg_walk(a[0]);
	if (!strcmp(mode, "first") && n == 1)
		return lg_first(a[0]);
	return lg_usage();
}
