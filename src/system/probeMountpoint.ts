import { lstat, stat, statfs } from "node:fs/promises";

export type MountpointState =
	/** Nothing there. */
	| "missing"
	/** Exists but is not a directory. */
	| "not-dir"
	/** A FUSE mount whose daemon is gone: stat answers ENOTCONN. */
	| "dead"
	/** A directory that answers stat. */
	| "dir";

/**
 * What is at `path` now. Only for paths the caller already knows not to be
 * a live mount of a stopped (SIGSTOPped) daemon: stat would wait for it.
 */
export async function probeMountpoint(path: string): Promise<MountpointState> {
	try {
		const st = await stat(path);
		if (!st.isDirectory()) return "not-dir";
		// A dead FUSE mount still answers stat from its attribute cache
		// (modelfs caches attributes for a year); statfs always asks the
		// daemon, so it is the probe that sees ENOTCONN.
		await statfs(path);
		return "dir";
	} catch (err) {
		const code = (err as NodeJS.ErrnoException).code;
		if (code === "ENOTCONN" || code === "ECONNABORTED") return "dead";
		if (code === "ENOENT") {
			// A dangling symlink is "missing" too, but say so precisely.
			try {
				await lstat(path);
				return "not-dir";
			} catch {
				return "missing";
			}
		}
		throw err;
	}
}
