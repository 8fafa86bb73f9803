/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Switching a live daemon to a new view image (refresh.c; HOLDER.md,
 * "Refresh"): load it, check that it keeps every nodeid and file type of
 * the image served, swap, wait until no request uses the old one, then
 * invalidate what the kernel cached of what changed. Calls image.c,
 * passthrough.c, notify.c, stats.c, log.c.
 */
#ifndef MFS_REFRESH_H
#define MFS_REFRESH_H

#include <stddef.h>

struct mfs_daemon;

/*
 * Serves the image at `path` from now on (renamed to the daemon's
 * view.img first, so a restarted daemon loads it too). Writes the reply
 * for the holder into `reply`: "ok {json}" or "err <CODE> <message>".
 * Returns 0 when switched.
 */
int mfs_refresh(struct mfs_daemon *d, const char *path, char *reply,
		size_t len);

/* Waits until no worker uses `img` (a request in hand holds it). */
void mfs_refresh_quiesce(struct mfs_daemon *d, const void *img);

#endif
