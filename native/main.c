// SPDX-License-Identifier: Apache-2.0
/*
 * modelfs-fused: one binary, several modes (HOLDER.md describes them).
 *
 *   modelfs-fused mount --image F --rundir D --mountpoint M [--threads N]
 *                       [--no-passthrough] [--ready-fd N]
 *	the holder of a new mount: opens /dev/fuse, mounts, makes the clone
 *	fds, creates the shared state and stats files, starts the daemon and
 *	another when it dies, answers the control socket. Lives as long as
 *	the mount (or until a successor takes over).
 *   modelfs-fused hold --rundir D --mountpoint M --threads N
 *                      (--handoff-fd N | --fuse-fd N... | --keeper S --name X)
 *                      [--no-passthrough] [--ready-fd N]
 *	a holder that takes over a mounted connection.
 *   modelfs-fused serve --image F --state F --stats F --fd N...
 *                       [--rundir D --mountpoint M] [--control-fd N]
 *                       [--no-passthrough] [--resend] [--standby]
 *	the daemon, started by a holder with the fds it inherits.
 *   modelfs-fused keep --dir D
 *	the keeper: holds fds where there is no systemd fd store.
 *   modelfs-fused probe [--timeout-ms N] PATH
 *	looks up a name that does not exist in PATH: exit 0 when the
 *	filesystem answers, else the errno (ENOTCONN: a dead FUSE mount).
 *   modelfs-fused umount [--detach] M
 *	umount2(2), for the CLI (Node has no binding for it).
 *   modelfs-fused --version
 *
 * Only main(), the modes and their one argument parser live here. Calls
 * holder.c, serve.c (with ops.c's table), keeper.c and nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "holder.h"
#include "keeper.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: modelfs-fused mount --image F --rundir D "
		"--mountpoint M [--threads N] [--no-passthrough] "
		"[--ready-fd N]\n"
		"       modelfs-fused hold --rundir D --mountpoint M "
		"--threads N (--handoff-fd N | --fuse-fd N... | --keeper S "
		"--name X) [--no-passthrough] [--ready-fd N]\n"
		"       modelfs-fused serve --image F --state F --stats F "
		"--fd N... [--rundir D --mountpoint M] [--control-fd N] "
		"[--no-passthrough] [--resend] [--standby]\n"
		"       modelfs-fused keep --dir D\n"
		"       modelfs-fused probe [--timeout-ms N] PATH\n"
		"       modelfs-fused umount [--detach] M\n"
		"       modelfs-fused --version\n");
	return 2;
}

/* ---- the argument parser ------------------------------------------------ */

enum opt_kind {
	OPT_FLAG,	/* no value: *(int *)dest = 1 */
	OPT_STR,	/* *(const char **)dest = value */
	OPT_INT,	/* *(int *)dest = value, in lo..hi */
	OPT_INTS,	/* ((int *)dest)[(*n)++] = value, in lo..hi, *n < max */
};

struct opt {
	const char *name;	/* NULL ends a table */
	enum opt_kind kind;
	void *dest;
	int lo, hi;
	int *n, max;
};

#define FLAG(name, dest)	{ name, OPT_FLAG, dest, 0, 0, NULL, 0 }
#define STR(name, dest)		{ name, OPT_STR, dest, 0, 0, NULL, 0 }
#define INT(name, dest, lo, hi)	{ name, OPT_INT, dest, lo, hi, NULL, 0 }
#define INTS(name, dest, lo, hi, n, max) \
	{ name, OPT_INTS, dest, lo, hi, n, max }
#define END			{ NULL, OPT_FLAG, NULL, 0, 0, NULL, 0 }

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/*
 * Options come first, each at most a flag and one value; the first
 * argument that does not start with "--" ends them. Returns the index of
 * that argument (argc when there is none), or -1 for a usage error: an
 * unknown option, a missing value, an int out of range.
 */
static int parse_opts(const struct opt *opts, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc && !strncmp(argv[i], "--", 2); i++) {
		const struct opt *o;

		for (o = opts; o->name && strcmp(o->name, argv[i]); o++)
			;
		if (!o->name)
			return -1;
		if (o->kind == OPT_FLAG) {
			*(int *)o->dest = 1;
			continue;
		}
		if (++i == argc)
			return -1;
		switch (o->kind) {
		case OPT_STR:
			*(const char **)o->dest = argv[i];
			break;
		case OPT_INT:
			if (parse_int(argv[i], o->lo, o->hi, o->dest) < 0)
				return -1;
			break;
		case OPT_INTS:
			if (*o->n == o->max ||
			    parse_int(argv[i], o->lo, o->hi,
				      (int *)o->dest + *o->n) < 0)
				return -1;
			(*o->n)++;
			break;
		case OPT_FLAG:
			break;
		}
	}
	return i;
}

/* ---- the modes ---------------------------------------------------------- */

static void raise_nofile(void)
{
	struct rlimit rl;

	/* the fallback keeps one fd per blob read */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int cmd_mount(int argc, char **argv)
{
	struct mfs_mount_opts m = { .threads = 4, .ready_fd = -1 };
	const struct opt opts[] = {
		STR("--image", &m.image),
		STR("--rundir", &m.rundir),
		STR("--mountpoint", &m.mountpoint),
		INT("--threads", &m.threads, 1, MFS_MAX_FDS),
		FLAG("--no-passthrough", &m.no_passthrough),
		INT("--ready-fd", &m.ready_fd, 0, 1 << 20),
		END,
	};

	if (parse_opts(opts, argc, argv) != argc)
		return usage();
	if (!m.image || !m.rundir || !m.mountpoint ||
	    m.image[0] != '/' || m.rundir[0] != '/' || m.mountpoint[0] != '/')
		return usage();
	if (m.ready_fd >= 0)
		fcntl(m.ready_fd, F_SETFD, FD_CLOEXEC);
	/* pin no directory of the caller (a test's temp dir, a home) */
	if (chdir("/") < 0)
		return 1;
	return mfs_holder(&m);
}

static int cmd_hold(int argc, char **argv)
{
	struct mfs_hold_opts h = { .threads = 0, .ready_fd = -1,
				   .handoff_fd = -1 };
	const struct opt opts[] = {
		STR("--rundir", &h.rundir),
		STR("--mountpoint", &h.mountpoint),
		INT("--threads", &h.threads, 1, MFS_MAX_FDS),
		FLAG("--no-passthrough", &h.no_passthrough),
		INT("--ready-fd", &h.ready_fd, 0, 1 << 20),
		INT("--handoff-fd", &h.handoff_fd, 0, 1 << 20),
		INTS("--fuse-fd", h.fuse_fds, 0, 1 << 20, &h.nfuse,
		     MFS_MAX_FDS),
		STR("--keeper", &h.keeper),
		STR("--name", &h.name),
		END,
	};
	int sources;

	if (parse_opts(opts, argc, argv) != argc)
		return usage();
	sources = (h.handoff_fd >= 0) + (h.nfuse > 0) + (h.keeper != NULL);
	if (!h.rundir || !h.mountpoint || h.rundir[0] != '/' ||
	    h.mountpoint[0] != '/' || sources != 1 ||
	    (h.keeper && !h.name))
		return usage();
	if (h.ready_fd >= 0)
		fcntl(h.ready_fd, F_SETFD, FD_CLOEXEC);
	if (h.handoff_fd >= 0)
		fcntl(h.handoff_fd, F_SETFD, FD_CLOEXEC);
	if (!h.threads)
		h.threads = h.nfuse ? h.nfuse : 1;
	if (chdir("/") < 0)
		return 1;
	return mfs_holder_adopt(&h);
}

static int cmd_serve(int argc, char **argv)
{
	struct mfs_serve_opts o = { .control_fd = -1 };
	const struct opt opts[] = {
		STR("--image", &o.image_path),
		STR("--state", &o.state_path),
		STR("--stats", &o.stats_path),
		STR("--rundir", &o.rundir),
		STR("--mountpoint", &o.mountpoint),
		INTS("--fd", o.fds, 0, 1 << 20, &o.nfds, MFS_MAX_FDS),
		INT("--control-fd", &o.control_fd, 0, 1 << 20),
		FLAG("--no-passthrough", &o.no_passthrough),
		FLAG("--resend", &o.resend),
		FLAG("--standby", &o.standby),
		END,
	};
	int i;

	if (parse_opts(opts, argc, argv) != argc)
		return usage();
	if (!o.image_path || !o.state_path || !o.stats_path || !o.nfds ||
	    !o.rundir != !o.mountpoint)
		return usage();
	for (i = 0; i < o.nfds; i++)
		fcntl(o.fds[i], F_SETFD, FD_CLOEXEC);
	if (o.control_fd >= 0)
		fcntl(o.control_fd, F_SETFD, FD_CLOEXEC);
	return mfs_serve(&o, mfs_ops, mfs_ops_count);
}

static int cmd_keep(int argc, char **argv)
{
	const char *dir = NULL;
	const struct opt opts[] = {
		STR("--dir", &dir),
		END,
	};

	if (parse_opts(opts, argc, argv) != argc || !dir || dir[0] != '/')
		return usage();
	if (chdir("/") < 0)
		return 1;
	return mfs_keeper(dir);
}

/*
 * A lookup of a name that cannot exist: it reaches the filesystem (no
 * negative entry is cached for it), through an overlay down to its lower
 * layer. The caller bounds the time: a stopped daemon never answers.
 */
static int cmd_probe(int argc, char **argv)
{
	char path[4096];
	struct timespec t;
	struct stat st;
	int timeout = 0, i;
	const struct opt opts[] = {
		INT("--timeout-ms", &timeout, 0, 3600000),
		END,
	};

	i = parse_opts(opts, argc, argv);
	if (i < 0 || argc - i != 1)
		return usage();
	if (timeout)
		alarm((timeout + 999) / 1000);
	clock_gettime(CLOCK_REALTIME, &t);
	snprintf(path, sizeof(path), "%s/.modelfs-probe-%d-%ld%09ld",
		 argv[i], (int)getpid(), (long)t.tv_sec, t.tv_nsec);
	if (lstat(path, &st) == 0 || errno == ENOENT)
		return 0;
	{
		int saved = errno;

		fprintf(stderr, "modelfs-fused: probe %s: %s\n", argv[i],
			strerror(saved));
		return saved < 256 ? saved : 1;
	}
}

static int cmd_umount(int argc, char **argv)
{
	int detach = 0, i;
	const struct opt opts[] = {
		FLAG("--detach", &detach),
		END,
	};

	i = parse_opts(opts, argc, argv);
	if (i < 0 || argc - i != 1)
		return usage();
	if (umount2(argv[i], detach ? MNT_DETACH : 0) < 0) {
		int saved = errno;

		fprintf(stderr, "modelfs-fused: umount %s: %s\n", argv[i],
			strerror(saved));
		/* the exit status is the errno, for the CLI to name it */
		return saved < 256 ? saved : 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "--version")) {
		printf("modelfs-fused %s\n", MFS_VERSION);
		return 0;
	}
	raise_nofile();
	if (!strcmp(argv[1], "mount"))
		return cmd_mount(argc - 2, argv + 2);
	if (!strcmp(argv[1], "hold"))
		return cmd_hold(argc - 2, argv + 2);
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 2, argv + 2);
	if (!strcmp(argv[1], "keep"))
		return cmd_keep(argc - 2, argv + 2);
	if (!strcmp(argv[1], "probe"))
		return cmd_probe(argc - 2, argv + 2);
	if (!strcmp(argv[1], "umount"))
		return cmd_umount(argc - 2, argv + 2);
	return usage();
}
