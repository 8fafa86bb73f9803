import { readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { isProcessAlive } from "../system/isProcessAlive.js";
import { readMountinfo } from "../system/readMountinfo.js";
import { readPidFile } from "../system/readPidFile.js";
import { listInstanceDirs } from "./listInstanceDirs.js";
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
 * in /proc/self/mountinfo), with its own runtime folder (found by the
 * mount's device number, so two instances mounted one after the other at
 * the same path are told apart), its pids and whether they still run.
 * Never touches the mountpoints themselves, so a hung or dead mount
 * cannot block it.
 */
export async function listModelfsMounts(params: ListModelfsMountsParams = {}): Promise<ModelfsMount[]> {
	const mounts: ModelfsMount[] = [];
	const entries = (await readMountinfo({ path: params.mountinfoPath })).filter((e) => e.fstype === "fuse.modelfs");
	if (entries.length === 0) return mounts;
	const instances = await listInstanceDirs({ runRoot: params.runRoot });
	for (const entry of entries) {
		const { mountpoint } = entry;
		// The newest instance that recorded this device; else the mountpoint's index link.
		const byDev = instances.filter((i) => i.majorMinor === entry.majorMinor).sort((a, b) => b.startedMs - a.startedMs)[0];
		let runtimeDir = byDev?.dir ?? null;
		if (runtimeDir === null) {
			const link = runtimeDirFor({ mountpoint, runRoot: params.runRoot });
			const target = resolveLink(link);
			const inst = instances.find((i) => i.dir === target);
			// A link to an instance that names another device belongs to another mount.
			if (target !== null && (inst === undefined || inst.majorMinor === null || inst.majorMinor === "0:0")) runtimeDir = target;
			else if (target === null) runtimeDir = link;
		}
		const dir = runtimeDir ?? runtimeDirFor({ mountpoint, runRoot: params.runRoot });
		const holderPid = runtimeDir === null ? null : await readPidFile(join(dir, "holder.pid"));
		const daemonPid = runtimeDir === null ? null : await readPidFile(join(dir, "daemon.pid"));
		const record = runtimeDir === null ? null : await readMountRecord(dir);
		const holderAlive = holderPid !== null && isOurs(holderPid);
		const daemonAlive = daemonPid !== null && isOurs(daemonPid);
		let state: ModelfsMount["state"] = "unknown";
		if (holderPid !== null || daemonPid !== null || record !== null) {
			if (holderAlive && daemonAlive) state = "live";
			else if (holderAlive || daemonAlive) state = "degraded";
			else state = parked(dir) ? "parked" : "dead";
		}
		mounts.push({
			mountpoint,
			mountId: entry.mountId,
			options: entry.options,
			majorMinor: entry.majorMinor,
			runtimeDir: dir,
			holderPid,
			daemonPid,
			holderAlive,
			daemonAlive,
			state,
			record,
		});
	}
	return mounts;
}

function resolveLink(path: string): string | null {
	try {
		return realpathSync(path);
	} catch {
		return null;
	}
}

/** Alive and a modelfs-fused process (a reused pid of another program is not). */
function isOurs(pid: number): boolean {
	if (!isProcessAlive(pid)) return false;
	try {
		return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("modelfs-fused");
	} catch {
		return false;
	}
}

/** The stats file says the fds were parked in an fd store. */
function parked(dir: string): boolean {
	try {
		const b = readFileSync(join(dir, "stats"));
		return b.length >= 112 && (b.readUInt32LE(108) & 1) === 1;
	} catch {
		return false;
	}
}
