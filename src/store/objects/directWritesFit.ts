import { statfs } from "node:fs/promises";

/**
 * statfs magic numbers of local disk file systems, where O_DIRECT writes go
 * to the device at its speed. Elsewhere buffered writes are kept: on NFS a
 * direct write is a synchronous round trip to the server, on tmpfs there is
 * no device.
 */
const DIRECT_FS = new Set([0xef53 /* ext2/3/4 */, 0x58465342 /* xfs */, 0x9123683e /* btrfs */, 0xf2f52010 /* f2fs */]);

/** Whether blobs written under `dir` should bypass the page cache (O_DIRECT). */
export async function directWritesFit(dir: string): Promise<boolean> {
	try {
		return DIRECT_FS.has(Number((await statfs(dir)).type));
	} catch {
		return false;
	}
}
