/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The view image, version 1: the one C declaration of its layout
 * (VIEW_IMAGE.md describes it; src/view/writeViewImage.ts writes it;
 * tools/image_layout.c prints these offsets for the writer's test), and the
 * API of its loader, image.c. All integers are little-endian.
 */
#ifndef MFS_VIEW_IMAGE_H
#define MFS_VIEW_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define MFS_IMAGE_MAGIC		"MFSVIEW1"
#define MFS_IMAGE_VERSION	1
#define MFS_IMAGE_HEADER_SIZE	128
#define MFS_INODE_SIZE		64
#define MFS_DIRENT_SIZE		16
#define MFS_INODE_INLINE	1	/* bytes are in the string table */

struct mfs_image_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint32_t inode_count;
	uint32_t dirent_count;
	uint64_t inodes_off;
	uint64_t dirents_off;
	uint64_t strings_off;
	uint64_t strings_size;
	uint32_t objects_dir_off;
	uint32_t objects_dir_len;
	int64_t mtime;
	uint8_t reserved[56];
};
_Static_assert(sizeof(struct mfs_image_header) == MFS_IMAGE_HEADER_SIZE,
	       "image header size");

struct mfs_inode {
	uint32_t mode;
	uint32_t nlink;
	uint64_t size;
	uint32_t parent;
	uint32_t a;		/* dir: 1st entry; symlink, inline: offset */
	uint32_t b;		/* dir: entries; symlink, inline: length */
	uint32_t flags;		/* MFS_INODE_INLINE */
	uint8_t blake3[32];
};
_Static_assert(sizeof(struct mfs_inode) == MFS_INODE_SIZE, "inode size");

struct mfs_dirent {
	uint32_t name_off;
	uint32_t name_len;
	uint32_t ino;
	uint32_t reserved;
};
_Static_assert(sizeof(struct mfs_dirent) == MFS_DIRENT_SIZE, "dirent size");

/* ---- the loader (image.c) ---------------------------------------------- */

/* A loaded image: every offset checked once, so it is indexed unchecked. */
struct mfs_image {
	const uint8_t *base;
	size_t size;
	uint32_t inode_count;
	const struct mfs_inode *inodes;	/* inodes[ino - 1] */
	const struct mfs_dirent *dirents;
	const char *strings;
	uint64_t strings_size;
	const char *objects_dir;
	int64_t mtime;
};

/* Maps and checks `path`; -1 with the reason in `err` when it refuses. */
int mfs_image_load(const char *path, struct mfs_image *img,
		   char *err, size_t errlen);
/* NULL for a nodeid that is not in the image */
const struct mfs_inode *mfs_image_inode(const struct mfs_image *img,
					uint64_t ino);
/* the nodeid of `name` in `dir`, 0 when missing */
uint32_t mfs_image_lookup(const struct mfs_image *img,
			  const struct mfs_inode *dir,
			  const char *name, size_t len);
/* the view path of `ino`, for log lines (slow) */
void mfs_image_path(const struct mfs_image *img, uint32_t ino,
		    char *buf, size_t len);
/* "ab/ab12...": the blob of a regular file, relative to the objects dir */
void mfs_image_blob_name(const struct mfs_inode *ino, char out[68]);

#endif
