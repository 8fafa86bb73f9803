/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `stats` file, version 1 (STATS.md): 4096 bytes that the holder creates
 * and every daemon generation bumps with relaxed atomic adds; `modelfs stats`
 * and the metrics server read it (src/mount/readMountStats.ts).
 * All integers are little-endian.
 */
#ifndef MFS_STATS_FILE_H
#define MFS_STATS_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MFS_STATS_MAGIC		"MFSSTAT1"
#define MFS_STATS_SIZE		4096
#define MFS_STATS_VERSION	1
#define MFS_STATS_OPCODES	64
#define MFS_STATS_ERRNOS	256
#define MFS_STATS_BUCKETS	16
#define MFS_STATS_PARKED	1	/* flags: fds parked in an fd store */

enum mfs_counter {
	MFS_C_OPENS,
	MFS_C_PASSTHROUGH_OPENS,
	MFS_C_FALLBACK_OPENS,
	MFS_C_FALLBACK_READS,
	MFS_C_FALLBACK_BYTES,
	MFS_C_BLOB_ERRORS,
	MFS_C_BACKING_OPEN_FAILURES,
	MFS_C_BACKING_IDS_OPEN,
	MFS_C_NEGATIVE_LOOKUPS,
	MFS_C_INTERRUPTS,
	MFS_C_RESENT,
	MFS_C_LATENCY_SUM_NS,
	MFS_C_LATENCY_COUNT,
	MFS_C_PREFETCHES,		/* prefetches started */
	MFS_C_PREFETCH_BYTES,		/* bytes prefetch read from the store */
	MFS_C_PREFETCH_RESIDENT,	/* bytes it found in the page cache already */
	MFS_C_COUNT
};

struct mfs_stats {
	char magic[8];			/* "MFSSTAT1" */
	uint32_t version;
	uint32_t size;
	uint64_t start_ns;		/* CLOCK_REALTIME of the mount */
	uint32_t holder_pid;
	uint32_t daemon_pid;
	uint32_t passthrough;
	uint32_t daemon_starts;
	uint32_t proto_minor;
	uint32_t threads;
	/* at 48: added in formerly reserved bytes (0 from older daemons) */
	uint32_t dev_major;		/* the mount's device, from mountinfo */
	uint32_t dev_minor;
	uint32_t holder_starts;		/* 1 + holders that took over */
	uint32_t refreshes;		/* images switched to while mounted */
	uint64_t generation;		/* catalog generation of the image served */
	uint64_t image_id;		/* the image served */
	uint64_t holder_start_ns;	/* CLOCK_REALTIME, the holder now */
	uint64_t daemon_start_ns;	/* CLOCK_REALTIME, the daemon now */
	uint64_t last_refresh_ns;	/* CLOCK_REALTIME of the last refresh */
	uint32_t last_refresh_us;	/* how long it took */
	uint32_t flags;			/* MFS_STATS_PARKED */
	uint8_t reserved0[128 - 112];
	uint64_t counters[16];			/* at 128 */
	uint64_t requests[MFS_STATS_OPCODES];	/* at 256 */
	uint64_t errors[MFS_STATS_ERRNOS];	/* at 768 */
	uint64_t latency[MFS_STATS_BUCKETS];	/* at 2816 */
	char holder_version[64];		/* at 2944, NUL-terminated */
	char daemon_version[64];		/* at 3008 */
	uint8_t reserved1[MFS_STATS_SIZE - 3072];
};
_Static_assert(sizeof(struct mfs_stats) == MFS_STATS_SIZE, "stats layout");
_Static_assert(offsetof(struct mfs_stats, counters) == 128, "counters");
_Static_assert(offsetof(struct mfs_stats, requests) == 256, "requests");
_Static_assert(offsetof(struct mfs_stats, errors) == 768, "errors");
_Static_assert(offsetof(struct mfs_stats, latency) == 2816, "latency");
_Static_assert(offsetof(struct mfs_stats, dev_major) == 48, "dev");
_Static_assert(offsetof(struct mfs_stats, flags) == 108, "flags");
_Static_assert(offsetof(struct mfs_stats, holder_version) == 2944, "hver");
_Static_assert(offsetof(struct mfs_stats, daemon_version) == 3008, "dver");
_Static_assert(MFS_C_COUNT <= 16, "counters");

/* ---- stats.c ----------------------------------------------------------- */

/* The holder: a fresh file for a new mount; -1 with the reason in `err`. */
int mfs_stats_create(const char *path, uint32_t threads, char *err,
		     size_t errlen);

/* The daemon: maps the holder's file (logs why not, returns -1). */
int mfs_stats_map(const char *path);
void mfs_stats_unmap(void);
/* this daemon serves now, with `threads` workers */
void mfs_stats_daemon_start(uint32_t threads);
/* the holder: it holds the fds now (a successor too) */
void mfs_stats_holder_start(void);
void mfs_stats_set_dev(uint32_t major, uint32_t minor);
void mfs_stats_set_parked(int parked);
/* the image served: its catalog generation and id; `refreshed` counts it */
void mfs_stats_set_image(uint64_t generation, uint64_t image_id,
			 int refreshed, uint32_t took_us);
void mfs_stats_set_passthrough(int on);
void mfs_stats_set_proto_minor(uint32_t minor);

/* Per request: no lock, no syscall (relaxed atomic adds). */
void mfs_stats_request(uint32_t opcode);
void mfs_stats_count(enum mfs_counter c, uint64_t n);
void mfs_stats_uncount(enum mfs_counter c, uint64_t n);	/* gauges */
void mfs_stats_set(enum mfs_counter c, uint64_t v);		/* gauges */
/* a reply sent (`err` > 0: an error reply) for a request read at `t0` */
void mfs_stats_count_done(const struct timespec *t0, int err);

#endif
