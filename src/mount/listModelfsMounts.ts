import { join } from "node:path";
import { isProcessAlive } from "../system/isProcessAlive.js";
import { readMountinfo } from "../system/readMountinfo.js";
import { readPidFile } from "../system/readPidFile.js";
import type { ModelfsMount } from "./MountTypes.js";
import { readMountRecord } from "./readMountRecord.js";
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
	const mounts: ModelfsMount[] = [];
	for (const entry of await readMountinfo({ path: params.mountinfoPath })) {
		if (entry.fstype !== "fuse.modelfs") continue;
		const { mountpoint } = entry;
		const runtimeDir = runtimeDirFor({ mountpoint, runRoot: params.runRoot });
		const holderPid = await readPidFile(join(runtimeDir, "holder.pid"));
		const daemonPid = await readPidFile(join(runtimeDir, "daemon.pid"));
		const record = await readMountRecord(runtimeDir);
		let state: ModelfsMount["state"] = "unknown";
		if (holderPid !== null || daemonPid !== null || record !== null) {
			const alive = (holderPid !== null && isProcessAlive(holderPid)) || (daemonPid !== null && isProcessAlive(daemonPid));
			state = alive ? "live" : "dead";
		}
		mounts.push({ mountpoint, mountId: entry.mountId, options: entry.options, runtimeDir, holderPid, daemonPid, state, record });
	}
	return mounts;
}
