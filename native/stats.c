// SPDX-License-Identifier: Apache-2.0
/*
 * The stats file (STATS.md): created by the holder, mapped shared by every
 * daemon generation, bumped with relaxed atomic adds (no lock, no syscall).
 * Calls mapfile.c and log.c only.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "mapfile.h"
#include "stats_file.h"

static struct mfs_stats *g_stats;

/* upper bounds of the latency buckets in microseconds; the last is +Inf */
static const uint64_t bucket_us[MFS_STATS_BUCKETS - 1] = {
	10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
	100000, 250000, 1000000,
};

int mfs_stats_create(const char *path, uint32_t threads, char *err,
		     size_t errlen)
{
	struct mfs_stats *stats;
	struct timespec now;

	/* counters are no secret: `modelfs stats` works for any user */
	stats = mfs_map_file(path, MFS_STATS_SIZE, 1, 0644, err, errlen);
	if (!stats)
		return -1;
	memset(stats, 0, MFS_STATS_SIZE);
	memcpy(stats->magic, MFS_STATS_MAGIC, 8);
	stats->version = MFS_STATS_VERSION;
	stats->size = MFS_STATS_SIZE;
	clock_gettime(CLOCK_REALTIME, &now);
	stats->start_ns = (uint64_t)now.tv_sec * 1000000000ULL + now.tv_nsec;
	stats->threads = threads;
	munmap(stats, MFS_STATS_SIZE);
	return 0;
}

int mfs_stats_map(const char *path)
{
	char err[512];

	g_stats = mfs_map_file(path, MFS_STATS_SIZE, 0, 0, err, sizeof(err));
	if (!g_stats) {
		mfs_log("stats file: %s", err);
		return -1;
	}
	return 0;
}

void mfs_stats_unmap(void)
{
	munmap(g_stats, MFS_STATS_SIZE);
	g_stats = NULL;
}

static uint64_t now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (uint64_t)now.tv_sec * 1000000000ULL + now.tv_nsec;
}

void mfs_stats_daemon_start(uint32_t threads)
{
	g_stats->daemon_pid = getpid();
	g_stats->threads = threads;
	g_stats->daemon_start_ns = now_ns();
	snprintf(g_stats->daemon_version, sizeof(g_stats->daemon_version),
		 "%s", MFS_VERSION);
	__atomic_fetch_add(&g_stats->daemon_starts, 1, __ATOMIC_RELAXED);
}

void mfs_stats_holder_start(void)
{
	g_stats->holder_pid = getpid();
	g_stats->holder_start_ns = now_ns();
	snprintf(g_stats->holder_version, sizeof(g_stats->holder_version),
		 "%s", MFS_VERSION);
	__atomic_fetch_add(&g_stats->holder_starts, 1, __ATOMIC_RELAXED);
}

void mfs_stats_set_dev(uint32_t major, uint32_t minor)
{
	g_stats->dev_major = major;
	g_stats->dev_minor = minor;
}

void mfs_stats_set_parked(int parked)
{
	if (parked)
		__atomic_fetch_or(&g_stats->flags, MFS_STATS_PARKED,
				  __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&g_stats->flags, ~MFS_STATS_PARKED,
				   __ATOMIC_RELAXED);
}

void mfs_stats_set_image(uint64_t generation, uint64_t image_id,
			 int refreshed, uint32_t took_us)
{
	g_stats->generation = generation;
	g_stats->image_id = image_id;
	if (!refreshed)
		return;
	g_stats->last_refresh_ns = now_ns();
	g_stats->last_refresh_us = took_us;
	__atomic_fetch_add(&g_stats->refreshes, 1, __ATOMIC_RELAXED);
}

void mfs_stats_set_passthrough(int on)
{
	g_stats->passthrough = on;
}

void mfs_stats_set_proto_minor(uint32_t minor)
{
	g_stats->proto_minor = minor;
}

void mfs_stats_request(uint32_t op)
{
	__atomic_fetch_add(&g_stats->requests[op < MFS_STATS_OPCODES ? op : 0],
			   1, __ATOMIC_RELAXED);
}

void mfs_stats_count(enum mfs_counter c, uint64_t n)
{
	__atomic_fetch_add(&g_stats->counters[c], n, __ATOMIC_RELAXED);
}

void mfs_stats_uncount(enum mfs_counter c, uint64_t n)
{
	__atomic_fetch_sub(&g_stats->counters[c], n, __ATOMIC_RELAXED);
}

void mfs_stats_set(enum mfs_counter c, uint64_t v)
{
	__atomic_store_n(&g_stats->counters[c], v, __ATOMIC_RELAXED);
}

void mfs_stats_count_done(const struct timespec *t0, int err)
{
	struct timespec t1;
	uint64_t ns, us;
	int b;

	if (err)
		__atomic_fetch_add(&g_stats->errors[err < MFS_STATS_ERRNOS ?
						    err : 0],
				   1, __ATOMIC_RELAXED);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = (uint64_t)(t1.tv_sec - t0->tv_sec) * 1000000000ULL +
	     t1.tv_nsec - t0->tv_nsec;
	us = ns / 1000;
	for (b = 0; b < MFS_STATS_BUCKETS - 1 && us > bucket_us[b]; b++)
		;
	__atomic_fetch_add(&g_stats->latency[b], 1, __ATOMIC_RELAXED);
	mfs_stats_count(MFS_C_LATENCY_SUM_NS, ns);
	mfs_stats_count(MFS_C_LATENCY_COUNT, 1);
}
