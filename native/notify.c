// SPDX-License-Identifier: Apache-2.0
/*
 * FUSE notifications (notify.h): a fuse_out_header with unique 0 and the
 * notify code in `error`, then the code's struct. Calls log.c only.
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/fuse.h>

#include "fuse_proto.h"
#include "log.h"
#include "notify.h"

static int send_notify(int fd, int code, struct iovec *v, int n,
		       const char *what, uint64_t nodeid)
{
	struct fuse_out_header h;
	size_t len = sizeof(h);
	ssize_t k;
	int i;

	for (i = 1; i < n; i++)
		len += v[i].iov_len;
	h.len = len;
	h.error = code;
	h.unique = 0;
	v[0].iov_base = &h;
	v[0].iov_len = sizeof(h);
	do
		k = writev(fd, v, n);
	while (k < 0 && errno == EINTR);
	if (k >= 0)
		return 0;
	if (errno == ENOENT)
		return 1;
	{
		int saved = errno;

		mfs_log("notify %s nodeid=%llu: %s", what,
			(unsigned long long)nodeid, strerror(saved));
	}
	return -1;
}

int mfs_notify_inval_entry(int fd, uint64_t parent, const char *name,
			   size_t len)
{
	struct fuse_notify_inval_entry_out e;
	static const char nul;
	struct iovec v[4];

	memset(&e, 0, sizeof(e));
	e.parent = parent;
	e.namelen = len;
	v[1].iov_base = &e;
	v[1].iov_len = sizeof(e);
	v[2].iov_base = (void *)name;
	v[2].iov_len = len;
	v[3].iov_base = (void *)&nul;
	v[3].iov_len = 1;
	return send_notify(fd, FUSE_NOTIFY_INVAL_ENTRY, v, 4, "INVAL_ENTRY",
			   parent);
}

int mfs_notify_inval_inode(int fd, uint64_t nodeid)
{
	struct fuse_notify_inval_inode_out o;
	struct iovec v[2];

	memset(&o, 0, sizeof(o));
	o.ino = nodeid;
	o.off = 0;
	o.len = 0;	/* with off 0: every page */
	v[1].iov_base = &o;
	v[1].iov_len = sizeof(o);
	return send_notify(fd, FUSE_NOTIFY_INVAL_INODE, v, 2, "INVAL_INODE",
			   nodeid);
}

int mfs_notify_resend(int fd)
{
	struct iovec v[1];
	int rc = send_notify(fd, MFS_FUSE_NOTIFY_RESEND, v, 1, "RESEND", 0);

	if (rc == 0)
		mfs_log("NOTIFY_RESEND sent: requests of the previous daemon "
			"are queued again");
	return rc;
}
