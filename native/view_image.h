/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The view image, version 2: the one C declaration of its layout
 * (VIEW_IMAGE.md describes it; src/view/writeViewImage.ts writes it;
 * tools/image_layout.c prints these offsets for the writer's test), and the
 * API of its loader, image.c. All integers are little-endian.
 *
 * Version 2 carries an explicit 64-bit nodeid per inode, chosen by the
 * writer so that a path keeps its nodeid and file type across the images of
 * one mount (a refresh), and "orphan" inodes: paths that vanished, kept so
 * that files still open (or cached by the kernel) keep answering.
 */
#ifndef MFS_VIEW_IMAGE_H
#define MFS_VIEW_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define MFS_IMAGE_MAGIC		"MFSVIEW1"
#define MFS_IMAGE_VERSION	2
#define MFS_IMAGE_HEADER_SIZE	128
#define MFS_INODE_SIZE		88
#define MFS_DIRENT_SIZE		16
#define MFS_INODE_INLINE	1	/* bytes are in the string table */
#define MFS_INODE_ORPHAN	2	/* in no directory: kept for open files */
#define MFS_INODE_PREFETCH	4	/* a weight file: read its blob ahead on open */
#define MFS_ROOT_NODEID		1
/* the largest image the loader takes into memory */
#define MFS_IMAGE_MAX_SIZE	(4ULL << 30)

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
	int64_t mtime;		/* when the image was written */
	uint64_t next_nodeid;	/* above every nodeid this mount ever used */
	uint64_t image_id;	/* nonzero, random */
	uint64_t base_id;	/* image_id of the image it replaces; 0: none */
	uint64_t generation;	/* catalog generation shown; 0: none */
	uint8_t reserved[24];
};
_Static_assert(sizeof(struct mfs_image_header) == MFS_IMAGE_HEADER_SIZE,
	       "image header size");

struct mfs_inode {
	uint32_t mode;
	uint32_t nlink;
	uint64_t size;
	uint64_t nodeid;	/* records are sorted by it, ascending */
	uint64_t parent;	/* nodeid of the parent directory */
	int64_t mtime;		/* a/m/ctime, seconds since the epoch */
	uint32_t a;		/* dir: 1st entry; symlink, inline: offset */
	uint32_t b;		/* dir: entries; symlink, inline: length */
	uint32_t flags;		/* MFS_INODE_INLINE, _ORPHAN, _PREFETCH */
	uint32_t reserved;
	uint8_t blake3[32];
};
_Static_assert(sizeof(struct mfs_inode) == MFS_INODE_SIZE, "inode size");

struct mfs_dirent {
	uint32_t name_off;
	uint32_t name_len;
	uint64_t nodeid;
};
_Static_assert(sizeof(struct mfs_dirent) == MFS_DIRENT_SIZE, "dirent size");

/* ---- the loader (image.c) ---------------------------------------------- */

/*
 * A loaded image: the file's bytes copied into this process's private
 * memory (never a mapping of a file that could change under it), every
 * offset checked once, so it is indexed unchecked.
 */
struct mfs_image {
	uint8_t *base;		/* malloc'd, mfs_image_free() */
	size_t size;
	uint32_t inode_count;
	uint32_t dirent_count;
	const struct mfs_inode *inodes;	/* sorted by nodeid */
	const struct mfs_dirent *dirents;
	const char *strings;
	uint64_t strings_size;
	const char *objects_dir;
	int64_t mtime;
	uint64_t next_nodeid;
	uint64_t image_id;
	uint64_t base_id;
	uint64_t generation;
	uint32_t orphans;
};

/*
 * Reads `path` into private memory and checks it; -1 with the reason in
 * `err` when it refuses. A changing file is read as whatever bytes it had.
 */
int mfs_image_load(const char *path, struct mfs_image *img,
		   char *err, size_t errlen);
void mfs_image_free(struct mfs_image *img);
/* NULL for a nodeid that is not in the image (binary search) */
const struct mfs_inode *mfs_image_inode(const struct mfs_image *img,
					uint64_t nodeid);
/* the nodeid of `name` in `dir`, 0 when missing */
uint64_t mfs_image_lookup(const struct mfs_image *img,
			  const struct mfs_inode *dir,
			  const char *name, size_t len);
/* byte order of names in a directory (memcmp, then length) */
int mfs_image_name_cmp(const char *a, size_t alen, const char *b,
		       size_t blen);
/* the view path of `nodeid`, for log lines (slow); "(removed)" orphans */
void mfs_image_path(const struct mfs_image *img, uint64_t nodeid,
		    char *buf, size_t len);
/* "ab/ab12...": the blob of a regular file, relative to the objects dir */
void mfs_image_blob_name(const struct mfs_inode *ino, char out[68]);
/* the first 8 bytes of a file's digest, never 0: names the blob it shows */
uint64_t mfs_image_blob_tag(const struct mfs_inode *ino);

#endif
