/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Maps the shared state and stats files (created by the holder, mapped again
 * by every daemon). A leaf: errors come back as text in `err`, not logged.
 */
#ifndef MFS_MAPFILE_H
#define MFS_MAPFILE_H

#include <stddef.h>

/*
 * Maps `size` bytes of `path` shared, read-write. With `create` the file is
 * unlinked, created again with `mode` and sized (a fresh inode: a dead daemon
 * may still map the old one); without, it must exist and hold `size` bytes.
 * Returns NULL with the reason in `err`.
 */
void *mfs_map_file(const char *path, size_t size, int create, int mode,
		   char *err, size_t errlen);

#endif
