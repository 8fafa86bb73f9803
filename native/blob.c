// SPDX-License-Identifier: Apache-2.0
/*
 * Blob access: every blob is opened with openat on the store's objects dir
 * fd, O_RDONLY|O_CLOEXEC|O_NOFOLLOW. Passthrough opens hand their fd to the
 * kernel and close it (passthrough.c); daemon-served reads keep one fd per
 * inode here for the life of the daemon. Calls image.c, stats.c, log.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blob.h"
#include "log.h"
#include "stats_file.h"

static const struct mfs_image *g_img;
static int g_objdir = -1;
static int *g_blobfd;		/* fallback: blob fd per inode, or -1 */

int mfs_blob_setup(const struct mfs_image *img)
{
	uint32_t k;

	g_img = img;
	g_objdir = open(img->objects_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g_objdir < 0) {
		int saved = errno;

		mfs_log("open store objects dir %s: %s", img->objects_dir,
			strerror(saved));
		return -1;
	}
	g_blobfd = malloc((img->inode_count + 1) * sizeof(int));
	if (!g_blobfd) {
		mfs_log("out of memory for %u inodes", img->inode_count);
		close(g_objdir);
		g_objdir = -1;
		return -1;
	}
	for (k = 0; k <= img->inode_count; k++)
		g_blobfd[k] = -1;
	return 0;
}

void mfs_blob_teardown(void)
{
	free(g_blobfd);
	g_blobfd = NULL;
	close(g_objdir);
	g_objdir = -1;
}

int mfs_blob_open(uint32_t opcode, uint32_t ino, const struct mfs_inode *n)
{
	char name[68], path[4096];
	int fd, saved;

	mfs_image_blob_name(n, name);
	fd = openat(g_objdir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0)
		return fd;
	saved = errno;
	mfs_stats_count(MFS_C_BLOB_ERRORS, 1);
	mfs_image_path(g_img, ino, path, sizeof(path));
	mfs_log("op=%s nodeid=%u path=%s blob=%s/%s: %s",
		mfs_opcode_name(opcode), ino, path, g_img->objects_dir, name,
		strerror(saved));
	return -saved;
}

int mfs_blob_fd(uint32_t opcode, uint32_t ino, const struct mfs_inode *n)
{
	int fd = __atomic_load_n(&g_blobfd[ino], __ATOMIC_ACQUIRE);
	int expected = -1;

	if (fd >= 0)
		return fd;
	fd = mfs_blob_open(opcode, ino, n);
	if (fd < 0)
		return fd;
	if (!__atomic_compare_exchange_n(&g_blobfd[ino], &expected, fd, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		close(fd);
		return expected;
	}
	return fd;
}

int mfs_blob_statvfs(struct statvfs *sv)
{
	return fstatvfs(g_objdir, sv);
}
