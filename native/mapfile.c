// SPDX-License-Identifier: Apache-2.0
/*
 * mmap of the state and stats files, for the holder (create) and the daemon
 * (map again). A leaf: it calls no other file of native/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mapfile.h"

void *mfs_map_file(const char *path, size_t size, int create, int mode,
		   char *err, size_t errlen)
{
	struct stat st;
	void *p;
	int fd, saved;

	if (create) {
		/* a fresh inode: a dead daemon may still map the old one */
		unlink(path);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	} else {
		fd = open(path, O_RDWR | O_CLOEXEC);
	}
	if (fd < 0) {
		saved = errno;
		snprintf(err, errlen, "open %s: %s", path, strerror(saved));
		return NULL;
	}
	if (create && ftruncate(fd, size) < 0) {
		saved = errno;
		close(fd);
		snprintf(err, errlen, "ftruncate %s: %s", path,
			 strerror(saved));
		return NULL;
	}
	if (!create && (fstat(fd, &st) < 0 || (size_t)st.st_size < size)) {
		close(fd);
		snprintf(err, errlen, "%s: too small", path);
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	saved = errno;
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "mmap %s: %s", path, strerror(saved));
		return NULL;
	}
	return p;
}
