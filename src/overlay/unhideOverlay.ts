import { chmod, lstat, mkdir, readdir, realpath, rename, rmdir, unlink } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { MountError, UsageError } from "../errors.js";
import { listOverlayMounts } from "./listOverlayMounts.js";
import { type HiddenEntry, listWhiteouts } from "./listWhiteouts.js";
import { mountOverlay } from "./mountOverlay.js";
import { overlayStateDir } from "./overlayStateDir.js";
import { readOverlayState } from "./readOverlayState.js";
import { runMountTool } from "./runMountTool.js";

export interface UnhideOverlayParams {
	/** The folder the overlay is on. */
	target: string;
	/**
	 * Only unhide these (relative to the target, or absolute under it) and
	 * what is below them. @default every hidden view entry
	 */
	paths?: string[];
	/** Only list what would be unhidden. @default false */
	dryRun?: boolean;
	/** modelfs's node-local state folder. @default $MODELFS_STATE_DIR, else /var/lib/modelfs */
	stateDir?: string;
}

export interface UnhideOverlayResult {
	target: string;
	upper: string;
	/** What was (or, with dryRun, would be) made visible again. */
	unhidden: HiddenEntry[];
	/** Still hidden after the remount (should be empty; listed so a caller can tell). */
	stillHidden: HiddenEntry[];
	dryRun: boolean;
}

/**
 * Makes view entries the upper layer hides visible again: removes the
 * whiteouts over them and makes opaque folders plain (their own files stay,
 * the view's show through again). overlayfs forbids changing the upper layer
 * under a mounted overlay, so a mounted one is unmounted (it must not be
 * busy) and mounted again; without a mount only whiteouts can be found.
 */
export async function unhideOverlay(params: UnhideOverlayParams): Promise<UnhideOverlayResult> {
	if (typeof params.target !== "string" || params.target === "") throw new TypeError("unhideOverlay: `target` is required");
	const target = await realpath(resolve(params.target)).catch(() => {
		throw new UsageError("OVERLAY_NO_TARGET", `${params.target} does not exist`, { hint: "give the folder the overlay was put on" });
	});
	const mount = (await listOverlayMounts({ target })).at(-1);
	const state = mount === undefined ? await readOverlayState({ dir: overlayStateDir({ target, stateDir: params.stateDir }) }) : null;
	const upper = mount?.upper ?? state?.upper ?? null;
	const work = mount?.work ?? state?.work ?? null;
	const lower = mount?.lower[0] ?? state?.lower ?? null;
	if (upper === null || work === null || lower === null) {
		throw new UsageError("OVERLAY_NO_STATE", `${target} has no modelfs overlay with an upper layer`, { hint: "nothing can hide the view's entries there" });
	}
	const wanted = (params.paths ?? []).map((p) => {
		const rel = p.startsWith("/") ? relative(target, resolve(p)) : p.replace(/^\.\/+/, "").replace(/\/+$/, "");
		if (rel.startsWith("..")) throw new UsageError("OVERLAY_BAD_PATH", `${p} is not inside ${target}`, { hint: "give paths relative to the target" });
		return rel;
	});
	const picked = (list: HiddenEntry[]) =>
		list.filter((h) => wanted.length === 0 || wanted.some((w) => w === "" || h.path === w || h.path.startsWith(`${w}/`) || w.startsWith(`${h.path}/`)));
	const hidden = picked(await listWhiteouts({ upper, lower, merged: mount === undefined ? undefined : target }));
	const result: UnhideOverlayResult = { target, upper, unhidden: hidden, stillHidden: [], dryRun: params.dryRun ?? false };
	if (result.dryRun || hidden.length === 0) return result;

	if (mount !== undefined) await unmount(target);
	try {
		for (const h of hidden) {
			const at = join(upper, h.path);
			if (h.kind === "whiteout") await unlink(at);
			else await makePlain(at);
		}
	} finally {
		if (mount !== undefined) await mountOverlay({ at: target, lower, upper, work, what: "mount overlayfs again" });
	}
	if (mount !== undefined) result.stillHidden = picked(await listWhiteouts({ upper, lower, merged: target }));
	return result;
}

/** A folder without the opaque mark: a new folder takes its entries (renames on one filesystem) and its place. */
async function makePlain(dir: string): Promise<void> {
	const s = await lstat(dir);
	const fresh = `${dir}.modelfs-unhide-${process.pid}`;
	await mkdir(fresh, { mode: s.mode & 0o7777 });
	await chmod(fresh, s.mode & 0o7777);
	for (const name of await readdir(dir)) await rename(join(dir, name), join(fresh, name));
	await rmdir(dir);
	await rename(fresh, dir);
}

async function unmount(target: string): Promise<void> {
	try {
		await runMountTool({ tool: "umount", args: [target], path: target, what: "unmount the overlay to unhide view entries" });
	} catch (err) {
		if (err instanceof MountError && err.code === "MOUNT_BUSY") {
			throw new MountError("MOUNT_BUSY", `cannot unhide in ${target} while it is in use: overlayfs forbids changing the upper layer under a mounted overlay`, {
				path: target,
				errno: "EBUSY",
				cause: err,
				hint: `stop the backend that uses it (see \`fuser -vm ${target}\`), run unhide, then start it again`,
			});
		}
		throw err;
	}
}
