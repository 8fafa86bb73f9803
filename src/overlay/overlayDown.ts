import { lstat, readdir, realpath, rm, rmdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { MountError, UsageError } from "../errors.js";
import { findMountUsers, type MountNamespaceUse } from "../system/findMountUsers.js";
import { readMountinfo } from "../system/readMountinfo.js";
import { listOverlayMounts } from "./listOverlayMounts.js";
import { type MaterializeResult, materializeOverlay } from "./materializeOverlay.js";
import { moveTree } from "./moveTree.js";
import type { MoveResult } from "./OverlayTypes.js";
import { overlayStateDir } from "./overlayStateDir.js";
import { readOverlayState } from "./readOverlayState.js";
import { runMountTool } from "./runMountTool.js";

export interface OverlayDownParams {
	/** The folder the overlay is on. */
	target: string;
	/**
	 * Also put the upper layer's files back into the folder as plain files
	 * (whiteouts dropped) and remove modelfs's upper/work for it.
	 * @default false
	 */
	restore?: boolean;
	/**
	 * Roll back to a folder that works without modelfs: copy every file the
	 * folder shows from the view into it as a real file (reflink where the
	 * filesystem can), after checking free space, then restore as `restore`
	 * does. Needs the overlay mounted. @default false
	 */
	materialize?: boolean;
	/** With materialize: the store the view serves (to reflink its blobs). @default none: files are copied through the view */
	storeDir?: string;
	/** With materialize: the bytes to copy, then the bytes of each file copied (for a progress bar). */
	onTotal?: (bytes: number) => void;
	onProgress?: (bytes: number) => void;
	/** modelfs's node-local state folder. @default $MODELFS_STATE_DIR, else /var/lib/modelfs */
	stateDir?: string;
}

export interface OverlayDownResult {
	target: string;
	/** Whether an overlay was mounted there (false: nothing to unmount). */
	wasMounted: boolean;
	/** With restore: what came back from upper (null without restore). */
	restored: MoveResult | null;
	upper: string | null;
	/** With materialize: what was copied in from the view (null without). */
	materialized?: MaterializeResult | null;
	/**
	 * Without materialize, when an overlay was mounted: the regular files
	 * (and their bytes) the view showed there, which the folder no longer
	 * has. A backend started on it without modelfs will not find them.
	 */
	viewProvided?: { files: number; bytes: number } | null;
	/**
	 * Mount namespaces (running containers) that still hold their own copy of
	 * the overlay: it is gone from here, they keep reading through theirs.
	 */
	otherNamespaces: MountNamespaceUse[];
}

/**
 * Unmounts the overlay on a target (idempotent) and, with `restore`, gives
 * the folder back its files as plain files; with `materialize` also the
 * view's, as real copies, so the folder works without modelfs. Otherwise it
 * reports what the view provided (the folder lacks it from now on). The
 * lower view is never touched.
 */
export async function overlayDown(params: OverlayDownParams): Promise<OverlayDownResult> {
	if (typeof params.target !== "string" || params.target === "") throw new TypeError("overlayDown: `target` is required");
	let target: string;
	try {
		target = await realpath(resolve(params.target));
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT")
			throw new UsageError("OVERLAY_NO_TARGET", `${params.target} does not exist`, { hint: "give the folder the overlay was put on" });
		throw err;
	}
	const stateDir = overlayStateDir({ target, stateDir: params.stateDir });
	const state = await readOverlayState({ dir: stateDir });
	const mounts = await listOverlayMounts({ target });
	const top = mounts.at(-1);
	// A container started with Docker's default rprivate bind has its own copy
	// of this overlay, which no unmount here reaches: its upper layer stays in
	// use, so nothing may be moved out of it while the copy lives.
	const devices = (await readMountinfo()).filter((m) => m.fstype === "overlay" && m.mountpoint === target).map((m) => m.majorMinor);
	const otherNamespaces = devices.length === 0 ? [] : (await findMountUsers({ devices }).catch(() => ({ namespaces: [] as MountNamespaceUse[] }))).namespaces;
	if (otherNamespaces.length > 0 && (params.restore || params.materialize)) {
		const pids = otherNamespaces.flatMap((n) => n.pids);
		throw new MountError(
			"OVERLAY_IN_USE_ELSEWHERE",
			`${target}: processes ${pids.join(", ")} in other mount namespaces (running containers) still read through their copy of this overlay, so its upper layer cannot be ${params.materialize ? "materialized" : "restored"} now`,
			{
				path: target,
				hint: "take it down without --restore/--materialize now (they keep reading), or stop those backends first and run it again",
			},
		);
	}
	let materialized: MaterializeResult | null = null;
	let viewProvided: OverlayDownResult["viewProvided"] = null;
	if (params.materialize) {
		if (top === undefined) {
			throw new MountError("OVERLAY_NOT_MOUNTED", `${target} has no overlay mounted, so nothing shows the view's files there to copy`, {
				path: target,
				hint: `mount it again (modelfs overlay up ${target} --lower <view>), then run down --materialize`,
			});
		}
		materialized = await materializeOverlay({ mount: top, storeDir: params.storeDir, onTotal: params.onTotal, onProgress: params.onProgress });
		mounts.pop();
	} else if (top !== undefined && top.lower[0] !== undefined) {
		viewProvided = await countFiles(top.lower[0]);
	}
	// Stacked overlays (an `up` run twice with different lowers by hand): take all down.
	for (let i = mounts.length - 1; i >= 0; i--) {
		try {
			await runMountTool({ tool: "umount", args: [target], path: target, what: "unmount the overlay" });
		} catch (err) {
			throw await namingUsers(err, target);
		}
	}
	const upper = top?.upper ?? state?.upper ?? null;
	if (!params.restore && !params.materialize) return { target, wasMounted: top !== undefined, restored: null, upper, materialized, viewProvided, otherNamespaces };
	if (upper === null) {
		throw new UsageError("OVERLAY_NO_STATE", `modelfs has no record of an overlay on ${target}, so there is nothing to restore`, {
			hint: "if you used --upper, copy its files back by hand",
		});
	}
	const restored = await moveTree({ from: upper, to: target, dropWhiteouts: true, conflictDir: join(stateDir, "conflicts", new Date().toISOString().replace(/[:.]/g, "-")) });
	const work = top?.work ?? state?.work ?? null;
	if (work !== null) {
		// A --work folder the operator chose stays; only overlayfs's own entries go.
		if (work.startsWith(`${stateDir}/`)) await rm(work, { recursive: true, force: true });
		else for (const name of ["work", "index"]) await rm(join(work, name), { recursive: true, force: true });
	}
	await rmdir(upper).catch(() => undefined);
	await rm(join(stateDir, "overlay.json"), { force: true });
	// Keep the state folder only if it still holds something (set-aside conflicts).
	if ((await readdir(stateDir).catch(() => [])).length === 0) await rmdir(stateDir).catch(() => undefined);
	return { target, wasMounted: top !== undefined, restored, upper, materialized, viewProvided, otherNamespaces };
}

/** A busy unmount names the processes that hold the folder (never advising to kill modelfs). */
async function namingUsers(err: unknown, target: string): Promise<unknown> {
	if (!(err instanceof MountError) || err.code !== "MOUNT_BUSY") return err;
	const users = await findMountUsers({ paths: [target] }).catch(() => null);
	const pids = [...new Set((users?.processes ?? []).map((p) => p.pid))];
	if (pids.length === 0) return err;
	return new MountError("MOUNT_BUSY", `cannot unmount the overlay at ${target}: processes ${pids.join(", ")} use it`, {
		path: target,
		errno: "EBUSY",
		cause: err,
		hint: "stop the backends that use the folder (or wait for them), then run it again",
	});
}

/** Regular files under a folder (symlinks not followed) and their bytes; an unreadable view counts as empty. */
async function countFiles(dir: string): Promise<{ files: number; bytes: number }> {
	const out = { files: 0, bytes: 0 };
	const walk = async (d: string): Promise<void> => {
		for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
			const p = join(d, e.name);
			if (e.isDirectory()) await walk(p);
			else if (e.isFile()) {
				out.files++;
				out.bytes += (await lstat(p).catch(() => null))?.size ?? 0;
			}
		}
	};
	await walk(dir);
	return out;
}
