import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { isProcessAlive } from "./isProcessAlive.js";
import type { ModelfsMount } from "./MountTypes.js";
import { readMountRecord } from "./readMountRecord.js";
import { readPidFile } from "./readPidFile.js";
import { runtimeDirFor } from "./runtimeDirFor.js";

export interface ListModelfsMountsParams {
	/** @default /proc/self/mountinfo */
	mountinfoPath?: string;
	/** Root of the runtime folders. @default $MODELFS_RUN_DIR, else /run/modelfs */
	runRoot?: string;
}

/**
 * Every modelfs view mounted in this mount namespace (fstype `fuse.modelfs`
 * in /proc/self/mountinfo), with its runtime folder, pids and whether its
 * processes still run. Never touches the mountpoints themselves, so a hung
 * or dead mount cannot block it.
 */
export async function listModelfsMounts(params: ListModelfsMountsParams = {}): Promise<ModelfsMount[]> {
	const text = await readFile(params.mountinfoPath ?? "/proc/self/mountinfo", "utf8");
	const mounts: ModelfsMount[] = [];
	for (const line of text.split("\n")) {
		const fields = line.split(" ");
		const dash = fields.indexOf("-", 6);
		if (dash < 0 || fields[dash + 1] !== "fuse.modelfs") continue;
		const mountpoint = unescapeMountinfo(fields[4]);
		const runtimeDir = runtimeDirFor({ mountpoint, runRoot: params.runRoot });
		const holderPid = await readPidFile(join(runtimeDir, "holder.pid"));
		const daemonPid = await readPidFile(join(runtimeDir, "daemon.pid"));
		const record = await readMountRecord(runtimeDir);
		let state: ModelfsMount["state"] = "unknown";
		if (holderPid !== null || daemonPid !== null || record !== null) {
			const alive = (holderPid !== null && isProcessAlive(holderPid)) || (daemonPid !== null && isProcessAlive(daemonPid));
			state = alive ? "live" : "dead";
		}
		mounts.push({ mountpoint, mountId: Number(fields[0]), options: fields[5], runtimeDir, holderPid, daemonPid, state, record });
	}
	return mounts;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountinfo(s: string): string {
	return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}
