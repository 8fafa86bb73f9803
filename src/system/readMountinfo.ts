import { readFile } from "node:fs/promises";
import { unescapeMountinfo } from "./unescapeMountinfo.js";

export interface ReadMountinfoParams {
	/** The mount table to read. @default "/proc/self/mountinfo" */
	path?: string;
}

/** One line of mountinfo (proc(5)). */
export interface MountinfoEntry {
	/** Mount ID (first field), to tell stacked mounts apart. */
	mountId: number;
	/** `major:minor` of the filesystem (third field): the same for every copy of one mount, in every mount namespace. */
	majorMinor: string;
	/** Where it is mounted, unescaped. */
	mountpoint: string;
	/** Per-mount options, e.g. `ro,nosuid,nodev,relatime`. */
	options: string;
	/** e.g. `fuse.modelfs`, `overlay`. */
	fstype: string;
	/** Super options as the kernel wrote them (still escaped: splitting them is the caller's, per fstype). */
	superOptions: string;
}

/**
 * The mounts of this mount namespace, in mountinfo order (a stack's bottom
 * first). Reads the table only; never touches a mountpoint, so a hung or
 * dead mount cannot block it.
 */
export async function readMountinfo(params: ReadMountinfoParams = {}): Promise<MountinfoEntry[]> {
	const text = await readFile(params.path ?? "/proc/self/mountinfo", "utf8");
	const entries: MountinfoEntry[] = [];
	for (const line of text.split("\n")) {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		const fields = line.split(" ");
		const dash = fields.indexOf("-", 6);
		if (dash < 0) continue;
		entries.push({
			mountId: Number(fields[0]),
			majorMinor: fields[2] ?? "",
			mountpoint: unescapeMountinfo(fields[4]),
			options: fields[5],
			fstype: fields[dash + 1] ?? "",
			superOptions: fields[dash + 3] ?? "",
		});
	}
	return entries;
}
