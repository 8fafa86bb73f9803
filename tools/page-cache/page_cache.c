// SPDX-License-Identifier: Apache-2.0
/*
 * modelfs-page-cache: how much of each file is in the page cache (mincore)
 * and dropping it (posix_fadvise POSIX_FADV_DONTNEED). Node has no binding
 * for either; `modelfs warm`, `modelfs evict` and their tests run this.
 *
 *   modelfs-page-cache resident   < NUL-separated paths
 *   modelfs-page-cache evict      < NUL-separated paths
 *
 * For every path one line on stdout, in input order:
 *   ok <size> <resident bytes> <path>      (evict: resident after dropping)
 *   err <errno name> <path>
 * Exit 0 once every path got a line, 2 on bad usage, 1 on an I/O error of
 * its own (stdin, stdout). Files are opened O_RDONLY|O_NOATIME where that
 * is allowed and never written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Pages looked at per mincore call: bounds the vector (1 byte a page). */
#define WINDOW_PAGES (1UL << 18)

static const char *errno_name(int e)
{
	switch (e) {
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EISDIR: return "EISDIR";
	case ELOOP: return "ELOOP";
	case EIO: return "EIO";
	case ENODEV: return "ENODEV";
	case ENOTCONN: return "ENOTCONN";
	case EINVAL: return "EINVAL";
	case ENOMEM: return "ENOMEM";
	default: return "EOTHER";
	}
}

static int open_ro(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOATIME);

	if (fd < 0 && errno == EPERM)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd;
}

/* Resident bytes of fd (size bytes long), or -errno. */
static int64_t resident(int fd, uint64_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *vec;
	uint64_t off, total = 0;

	if (size == 0)
		return 0;
	vec = malloc(WINDOW_PAGES);
	if (vec == NULL)
		return -ENOMEM;
	for (off = 0; off < size; off += WINDOW_PAGES * (uint64_t)page) {
		uint64_t len = size - off;
		uint64_t pages, i;
		void *map;

		if (len > WINDOW_PAGES * (uint64_t)page)
			len = WINDOW_PAGES * (uint64_t)page;
		map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)off);
		if (map == MAP_FAILED) {
			int saved = errno;

			free(vec);
			return -saved;
		}
		pages = (len + page - 1) / page;
		if (mincore(map, len, vec) != 0) {
			int saved = errno;

			munmap(map, len);
			free(vec);
			return -saved;
		}
		for (i = 0; i < pages; i++) {
			if (!(vec[i] & 1))
				continue;
			/* The last page counts only up to the end of the file. */
			if (off + (i + 1) * page > size)
				total += size - (off + i * page);
			else
				total += page;
		}
		munmap(map, len);
	}
	free(vec);
	return (int64_t)total;
}

static int one(const char *path, int evict)
{
	struct stat st;
	int64_t res;
	int fd, err;

	fd = open_ro(path);
	if (fd < 0)
		goto fail;
	if (fstat(fd, &st) != 0)
		goto fail_fd;
	if (!S_ISREG(st.st_mode)) {
		errno = EISDIR;
		goto fail_fd;
	}
	if (evict) {
		err = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		if (err != 0) {
			errno = err;
			goto fail_fd;
		}
	}
	res = resident(fd, (uint64_t)st.st_size);
	if (res < 0) {
		errno = (int)-res;
		goto fail_fd;
	}
	close(fd);
	return printf("ok %lld %lld %s\n", (long long)st.st_size,
		      (long long)res, path) < 0 ? -1 : 0;
fail_fd:
	err = errno;
	close(fd);
	errno = err;
fail:
	return printf("err %s %s\n", errno_name(errno), path) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int evict;

	if (argc != 2 || (strcmp(argv[1], "resident") != 0 &&
			  strcmp(argv[1], "evict") != 0)) {
		fprintf(stderr,
			"usage: modelfs-page-cache resident|evict < NUL-separated paths\n");
		return 2;
	}
	evict = strcmp(argv[1], "evict") == 0;
	while ((n = getdelim(&line, &cap, '\0', stdin)) > 0) {
		if (line[n - 1] == '\0')
			n--;
		line[n] = '\0';
		if (n == 0)
			continue;
		if (one(line, evict) != 0) {
			perror("modelfs-page-cache: stdout");
			free(line);
			return 1;
		}
	}
	free(line);
	if (ferror(stdin)) {
		perror("modelfs-page-cache: stdin");
		return 1;
	}
	if (fflush(stdout) != 0) {
		perror("modelfs-page-cache: stdout");
		return 1;
	}
	return 0;
}
