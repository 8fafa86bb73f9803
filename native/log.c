// SPDX-License-Identifier: Apache-2.0
/*
 * The log: one line per event on stderr, which the holder points at the
 * runtime folder's daemon.log. A leaf: it calls no other file of native/.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/fuse.h>

#include "log.h"

static const char *const op_names[] = {
	[FUSE_LOOKUP] = "LOOKUP", [FUSE_GETATTR] = "GETATTR",
	[FUSE_READLINK] = "READLINK", [FUSE_OPEN] = "OPEN",
	[FUSE_READ] = "READ", [FUSE_RELEASE] = "RELEASE",
	[FUSE_OPENDIR] = "OPENDIR", [FUSE_READDIR] = "READDIR",
	[FUSE_READDIRPLUS] = "READDIRPLUS", [FUSE_STATFS] = "STATFS",
	[FUSE_INIT] = "INIT",
};

const char *mfs_opcode_name(uint32_t op)
{
	if (op < sizeof(op_names) / sizeof(op_names[0]) && op_names[op])
		return op_names[op];
	return "OP";
}

void mfs_log(const char *fmt, ...)
{
	char buf[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(buf, sizeof(buf),
		     "%04d-%02d-%02dT%02d:%02d:%02dZ modelfs-fused[%d]: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, (int)getpid());
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	n = strlen(buf);
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, n) < 0) {
		/* nowhere else to report it */
	}
}
