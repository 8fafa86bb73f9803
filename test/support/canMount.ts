import { accessSync, constants } from "node:fs";

/**
 * True when this process can make real FUSE and overlay mounts (root and
 * /dev/fuse). When MODELFS_REQUIRE_FUSE=1 (CI) it is always true, so a
 * missing /dev/fuse fails the mount tests instead of skipping them.
 */
function detect(): boolean {
	if (process.env.MODELFS_REQUIRE_FUSE === "1") return true;
	if (typeof process.getuid !== "function" || process.getuid() !== 0) return false;
	try {
		accessSync("/dev/fuse", constants.R_OK | constants.W_OK);
		return true;
	} catch {
		return false;
	}
}

export const canMount: boolean = detect();
