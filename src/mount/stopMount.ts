import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { MountError } from "../errors.js";
import { isProcessAlive } from "../system/isProcessAlive.js";
import { readPidFile } from "../system/readPidFile.js";
import { listModelfsMounts } from "./listModelfsMounts.js";
import { umountPath } from "./umountPath.js";

export interface StopMountParams {
	/** The view's mountpoint. */
	mountpoint: string;
	/**
	 * Detach now even when files are open (MNT_DETACH); the daemon then ends
	 * when the last one closes. @default false
	 */
	lazy?: boolean;
	/** How long to wait for the holder and daemon to exit. @default 10000 */
	timeoutMs?: number;
	/** @default $MODELFS_RUN_DIR, else /run/modelfs */
	runRoot?: string;
}

export interface StoppedMount {
	mountpoint: string;
	/** The mount was dead (its processes gone) and was only detached. */
	wasDead: boolean;
	/** Pids still running after the wait (lazy unmount with open files). */
	stillRunning: number[];
}

/**
 * Unmounts a modelfs view and waits until its holder and daemon have
 * exited, then removes its runtime folder. A busy mount (open files, an
 * overlay on top) is refused unless `lazy`.
 */
export async function stopMount(params: StopMountParams): Promise<StoppedMount> {
	if (typeof params?.mountpoint !== "string" || params.mountpoint === "") throw new TypeError("stopMount: `mountpoint` is required");
	const mountpoint = resolve(params.mountpoint);
	const timeoutMs = params.timeoutMs ?? 10_000;
	const mount = (await listModelfsMounts({ runRoot: params.runRoot })).filter((m) => m.mountpoint === mountpoint).pop();
	if (!mount) {
		throw new MountError("MOUNT_NOT_MOUNTED", `no modelfs view is mounted at ${mountpoint}`, {
			path: mountpoint,
			hint: "`modelfs status` lists the mounted views",
		});
	}
	const { runtimeDir } = mount;
	const wasDead = mount.state === "dead";
	const err = await umountPath({ mountpoint, detach: params.lazy === true || wasDead });
	if (err === "EBUSY") {
		throw new MountError("MOUNT_BUSY", `${mountpoint} is busy: files in it are open, or something is mounted on top of it (an overlay?)`, {
			path: mountpoint,
			errno: err,
			hint: "stop what uses it or take the overlay down first; --lazy detaches it now and lets it end when the last file closes",
		});
	}
	if (err === "EPERM") {
		throw new MountError("MOUNT_NOT_ROOT", `unmounting ${mountpoint} needs root`, { path: mountpoint, errno: err, hint: "run it as root" });
	}
	if (err !== null && err !== "EINVAL") {
		throw new MountError("MOUNT_UMOUNT_FAILED", `cannot unmount ${mountpoint}: ${err}`, { path: mountpoint, errno: err, hint: `try: umount -l ${mountpoint}` });
	}

	const metricsPid = await readPidFile(join(runtimeDir, "metrics.pid"));
	const pids = [mount.holderPid, mount.daemonPid, metricsPid].filter((p): p is number => p !== null);
	if (metricsPid !== null && isOurs(metricsPid)) {
		try {
			process.kill(metricsPid, "SIGTERM");
		} catch {
			// already gone
		}
	}
	const deadline = Date.now() + (params.lazy ? Math.min(timeoutMs, 1000) : timeoutMs);
	let running = pids.filter((p) => isProcessAlive(p) && isOurs(p));
	while (running.length > 0 && Date.now() < deadline) {
		await new Promise((r) => setTimeout(r, 25));
		running = running.filter((p) => isProcessAlive(p));
	}
	if (running.length > 0 && !params.lazy) {
		throw new MountError("MOUNT_DAEMON_STUCK", `${mountpoint} is unmounted but its processes ${running.join(", ")} did not exit within ${timeoutMs} ms`, {
			path: mountpoint,
			hint: `look at ${join(runtimeDir, "daemon.log")}; end them with kill ${running.join(" ")}`,
		});
	}
	if (running.length === 0) await rm(runtimeDir, { recursive: true, force: true });
	return { mountpoint, wasDead, stillRunning: running };
}

/** The pid is one of ours (a reused pid of another program is left alone). */
function isOurs(pid: number): boolean {
	try {
		const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
		return cmdline.includes("modelfs-fused") || cmdline.includes("metricsMain");
	} catch {
		return false;
	}
}
