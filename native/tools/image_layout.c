// SPDX-License-Identifier: Apache-2.0
/*
 * image-layout: prints the view image layout of ../view_image.h as JSON
 * (VIEW_IMAGE.md, "Checking a writer"), so a writer's test can compare its
 * offsets with the C declaration instead of with a copy of it. Built into
 * build/image-layout; not part of modelfs-fused.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../view_image.h"

static int g_first;

static void open_struct(const char *name, size_t size)
{
	printf("%s\n    \"%s\": {\n      \"size\": %zu,\n      \"fields\": {",
	       g_first ? "" : ",", name, size);
	g_first = 0;
}

static void close_struct(void)
{
	printf("\n      }\n    }");
}

static void field(int *first, const char *name, size_t offset, size_t size,
		  const char *type)
{
	printf("%s\n        \"%s\": { \"offset\": %zu, \"size\": %zu, "
	       "\"type\": \"%s\" }", *first ? "" : ",", name, offset, size,
	       type);
	*first = 0;
}

/* the little-endian integer type of a field; arrays are byte strings */
#define TYPE_NAME(x) _Generic((x),					\
	uint32_t: "u32", uint64_t: "u64", int64_t: "i64",		\
	char *: "bytes", uint8_t *: "bytes")

#define FIELD(type, member)						\
	field(&first, #member, offsetof(struct type, member),		\
	      sizeof(((struct type *)0)->member),			\
	      TYPE_NAME(((struct type *)0)->member))

static void header(void)
{
	int first = 1;

	open_struct("mfs_image_header", sizeof(struct mfs_image_header));
	FIELD(mfs_image_header, magic);
	FIELD(mfs_image_header, version);
	FIELD(mfs_image_header, header_size);
	FIELD(mfs_image_header, inode_count);
	FIELD(mfs_image_header, dirent_count);
	FIELD(mfs_image_header, inodes_off);
	FIELD(mfs_image_header, dirents_off);
	FIELD(mfs_image_header, strings_off);
	FIELD(mfs_image_header, strings_size);
	FIELD(mfs_image_header, objects_dir_off);
	FIELD(mfs_image_header, objects_dir_len);
	FIELD(mfs_image_header, mtime);
	FIELD(mfs_image_header, next_nodeid);
	FIELD(mfs_image_header, image_id);
	FIELD(mfs_image_header, base_id);
	FIELD(mfs_image_header, generation);
	FIELD(mfs_image_header, reserved);
	close_struct();
}

static void inode(void)
{
	int first = 1;

	open_struct("mfs_inode", sizeof(struct mfs_inode));
	FIELD(mfs_inode, mode);
	FIELD(mfs_inode, nlink);
	FIELD(mfs_inode, size);
	FIELD(mfs_inode, nodeid);
	FIELD(mfs_inode, parent);
	FIELD(mfs_inode, mtime);
	FIELD(mfs_inode, a);
	FIELD(mfs_inode, b);
	FIELD(mfs_inode, flags);
	FIELD(mfs_inode, reserved);
	FIELD(mfs_inode, blake3);
	close_struct();
}

static void dirent(void)
{
	int first = 1;

	open_struct("mfs_dirent", sizeof(struct mfs_dirent));
	FIELD(mfs_dirent, name_off);
	FIELD(mfs_dirent, name_len);
	FIELD(mfs_dirent, nodeid);
	close_struct();
}

int main(void)
{
	printf("{\n");
	printf("  \"magic\": \"%s\",\n", MFS_IMAGE_MAGIC);
	printf("  \"version\": %d,\n", MFS_IMAGE_VERSION);
	printf("  \"header_size\": %d,\n", MFS_IMAGE_HEADER_SIZE);
	printf("  \"inode_size\": %d,\n", MFS_INODE_SIZE);
	printf("  \"dirent_size\": %d,\n", MFS_DIRENT_SIZE);
	printf("  \"inode_flags\": { \"INLINE\": %d, \"ORPHAN\": %d, "
	       "\"PREFETCH\": %d },\n",
	       MFS_INODE_INLINE, MFS_INODE_ORPHAN, MFS_INODE_PREFETCH);
	printf("  \"structs\": {");
	g_first = 1;
	header();
	inode();
	dirent();
	printf("\n  }\n}\n");
	return fflush(stdout) ? 1 : 0;
}
