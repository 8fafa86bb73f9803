import { readdir, realpath, rm, rmdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { UsageError } from "../errors.js";
import { listOverlayMounts } from "./listOverlayMounts.js";
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
}

/**
 * Unmounts the overlay on a target (idempotent) and, with `restore`, gives
 * the folder back its files as plain files. The lower view is never touched.
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
	// Stacked overlays (an `up` run twice with different lowers by hand): take all down.
	for (let i = mounts.length - 1; i >= 0; i--) {
		await runMountTool({ tool: "umount", args: [target], path: target, what: "unmount the overlay" });
	}
	const upper = top?.upper ?? state?.upper ?? null;
	if (!params.restore) return { target, wasMounted: top !== undefined, restored: null, upper };
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
	return { target, wasMounted: top !== undefined, restored, upper };
}
