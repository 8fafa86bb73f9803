import { readFileSync, readlinkSync, realpathSync } from "node:fs";
import { rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { MountError } from "../errors.js";
import { findMountUsers, type MountNamespaceUse } from "../system/findMountUsers.js";
import { isProcessAlive } from "../system/isProcessAlive.js";
import { readPidFile } from "../system/readPidFile.js";
import { listModelfsMounts } from "./listModelfsMounts.js";
import { runtimeDirFor } from "./runtimeDirFor.js";
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
	/** Pids still running after the wait (a lazy unmount with open files, or other namespaces). */
	stillRunning: number[];
	/**
	 * Other mount namespaces (running containers) that still have their own
	 * copy of the view: it is gone from here, and the daemon keeps serving
	 * them until they let go.
	 */
	otherNamespaces: MountNamespaceUse[];
}

/**
 * Unmounts a modelfs view here and waits until its holder and daemon have
 * exited, then removes its instance's runtime folder. A mount that is busy
 * in this mount namespace (open files, an overlay on top) is refused unless
 * `lazy`. Copies of the mount in other namespaces (a container started with
 * Docker's default rprivate bind) are not this unmount's to end: the view
 * is detached here, the result names them, and the daemon serves them
 * until they let go; nothing of theirs is removed.
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
		const users = await findMountUsers({ paths: [mountpoint] }).catch(() => ({ processes: [] }));
		const named = users.processes.length > 0 ? ` (pids ${[...new Set(users.processes.map((p) => p.pid))].join(", ")})` : "";
		throw new MountError("MOUNT_BUSY", `${mountpoint} is busy: files in it are open${named}, or something is mounted on top of it (an overlay?)`, {
			path: mountpoint,
			errno: err,
			hint: "take the overlay down first (modelfs down); --lazy detaches it now and lets the daemon serve open files until they close",
		});
	}
	if (err === "EPERM") {
		throw new MountError("MOUNT_NOT_ROOT", `unmounting ${mountpoint} needs root`, { path: mountpoint, errno: err, hint: "run it as root" });
	}
	if (err !== null && err !== "EINVAL") {
		throw new MountError("MOUNT_UMOUNT_FAILED", `cannot unmount ${mountpoint}: ${err}`, { path: mountpoint, errno: err, hint: `try: umount -l ${mountpoint}` });
	}

	const metricsPid = await readPidFile(join(runtimeDir, "metrics.pid"));
	const pids = [mount.holderPid, mount.daemonPid].filter((p): p is number => p !== null);
	const others = mount.majorMinor ? (await findMountUsers({ devices: [mount.majorMinor] }).catch(() => ({ namespaces: [] }))).namespaces : [];
	// The metrics process serves this node's scrapes: it goes with the view here.
	if (metricsPid !== null && isOurs(metricsPid)) {
		try {
			process.kill(metricsPid, "SIGTERM");
		} catch {
			// already gone
		}
	}
	const quick = params.lazy === true || others.length > 0;
	const deadline = Date.now() + (quick ? Math.min(timeoutMs, 1000) : timeoutMs);
	let running = pids.filter((p) => isProcessAlive(p) && isOurs(p));
	while (running.length > 0 && Date.now() < deadline) {
		await new Promise((r) => setTimeout(r, 25));
		running = running.filter((p) => isProcessAlive(p));
	}
	if (running.length > 0 && !quick) {
		throw new MountError("MOUNT_DAEMON_STUCK", `${mountpoint} is unmounted but its processes ${running.join(", ")} did not exit within ${timeoutMs} ms`, {
			path: mountpoint,
			hint: `look at ${join(runtimeDir, "daemon.log")}`,
		});
	}
	if (running.length === 0) {
		// The index names this instance no more; a successor's link stays.
		const index = runtimeDirFor({ mountpoint, runRoot: params.runRoot });
		const mine = linkTarget(index) !== null && linkTarget(index) === resolve(runtimeDir);
		await rm(runtimeDir, { recursive: true, force: true });
		if (mine) await rm(index, { force: true });
	}
	return { mountpoint, wasDead, stillRunning: running, otherNamespaces: others };
}

/** Where a link points (resolved, even when its target is gone), or the real path of a folder. */
function linkTarget(path: string): string | null {
	try {
		return resolve(dirname(path), readlinkSync(path));
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code !== "EINVAL") return null;
		try {
			return realpathSync(path);
		} catch {
			return null;
		}
	}
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
