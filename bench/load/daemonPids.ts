import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runtimeDirFor } from "../../src/mount/runtimeDirFor.js";

export interface DaemonPidsParams {
	/** Mountpoints of modelfs views. */
	views: string[];
}

/**
 * The pids of the daemons serving `views`, from each mount's runtime folder
 * (daemon.pid, written by the holder). Read again before each throttled
 * run: the holder restarts a daemon that died, under a new pid.
 */
export function daemonPids(params: DaemonPidsParams): number[] {
	const pids: number[] = [];
	for (const mp of params.views) {
		const path = join(runtimeDirFor({ mountpoint: mp }), "daemon.pid");
		const text = readFileSync(path, "utf8").trim();
		const pid = Number(text);
		if (!Number.isInteger(pid) || pid <= 0) throw new Error(`${path} holds ${JSON.stringify(text)}, not a pid`);
		pids.push(pid);
	}
	return [...new Set(pids)];
}
