import { statfs } from "node:fs/promises";

/** statfs f_type magics of filesystems shared between hosts (linux/magic.h and the projects' own). */
const NETWORK_FS = new Set<number>([
	0x6969, // NFS
	0x00c36400, // CephFS
	0x0bd00bd0, // Lustre
	0xfe534d42, // SMB2
	0xff534d42, // CIFS
	0x517b, // SMB
	0x47504653, // GPFS
	0x65735546, // FUSE (glusterfs, s3fs, ... mounted through FUSE)
	0x7461636f, // OCFS2
	0x01161970, // GFS2
	0x013111a8, // IBRIX
	0x5346414f, // OpenAFS
	0x6b414653, // kAFS
]);

/**
 * True when `dir` is on a filesystem other hosts may share (NFS, CephFS,
 * Lustre, SMB, GPFS, FUSE...). LMDB must not be opened there by more than
 * one host (DESIGN.md), so readers use the published catalog instead.
 */
export async function isNetworkFilesystem(dir: string): Promise<boolean> {
	try {
		return NETWORK_FS.has(Number((await statfs(dir)).type));
	} catch {
		return false;
	}
}
