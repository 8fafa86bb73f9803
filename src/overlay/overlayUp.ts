import { mkdir, mkdtemp, realpath, rm, stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve } from "node:path";
import { MountError, UsageError } from "../errors.js";
import { type MountinfoEntry, readMountinfo } from "../system/readMountinfo.js";
import { listOverlayMounts } from "./listOverlayMounts.js";
import { mountOverlay } from "./mountOverlay.js";
import { moveTree } from "./moveTree.js";
import type { MoveResult } from "./OverlayTypes.js";
import { overlayStateDir } from "./overlayStateDir.js";
import { runMountTool } from "./runMountTool.js";
import { writeOverlayState } from "./writeOverlayState.js";

export interface OverlayUpParams {
	/** The backend's cache folder. Its contents are kept (moved into upper). */
	target: string;
	/**
	 * Create `target` when it does not exist. Without it a missing target is
	 * an error: a typo in a backend's path must not mount a fresh folder
	 * nobody reads. @default false
	 */
	create?: boolean;
	/** The read-only view shown underneath (overlayfs's lowerdir): a live modelfs view's mount point or a folder in it. */
	lower: string;
	/**
	 * Accept a lower that is not inside a live modelfs view (a plain folder).
	 * Without it such a lower is refused: an empty folder or a view
	 * mountpoint with nothing mounted would hide the backend's models. @default false
	 */
	anyLower?: boolean;
	/** The writable layer. @default <state dir>/overlay/<hash of target>/upper */
	upper?: string;
	/** overlayfs's work folder, on the same filesystem as upper. @default beside the default upper */
	work?: string;
	/** modelfs's node-local state folder. @default $MODELFS_STATE_DIR, else /var/lib/modelfs */
	stateDir?: string;
}

export interface OverlayUpResult {
	target: string;
	lower: string;
	upper: string;
	work: string;
	/** True when the same overlay was already mounted (nothing was done). */
	alreadyMounted: boolean;
	/** What was moved from the target into upper before mounting. */
	moved: MoveResult;
}

/**
 * Puts overlayfs (lowerdir = the view, upperdir = node-local) on a backend's
 * unchanged cache folder. What the folder already held is moved into the
 * upper layer first, so it stays visible through the overlay. Idempotent.
 */
export async function overlayUp(params: OverlayUpParams): Promise<OverlayUpResult> {
	if (typeof params.target !== "string" || params.target === "") throw new TypeError("overlayUp: `target` is required");
	if (typeof params.lower !== "string" || params.lower === "") throw new TypeError("overlayUp: `lower` is required");
	const lower = await checkedLower(resolve(params.lower), params.anyLower === true);
	const target = await existingTarget(resolve(params.target), params.create === true);
	const empty: MoveResult = { files: 0, bytes: 0, duplicates: 0, conflicts: [], whiteouts: 0 };

	const mounted = (await listOverlayMounts({ target })).at(-1);
	if (mounted !== undefined) {
		if (mounted.lower.length === 1 && mounted.lower[0] === lower) {
			return { target, lower, upper: mounted.upper ?? "", work: mounted.work ?? "", alreadyMounted: true, moved: empty };
		}
		throw new MountError("OVERLAY_TARGET_MOUNTED", `${target} already has an overlay with lowerdir ${mounted.lower.join(":")}, not ${lower}`, {
			path: target,
			hint: `take it down first: modelfs overlay down ${target}`,
		});
	}

	const stateDir = overlayStateDir({ target, stateDir: params.stateDir });
	const upper = resolve(params.upper ?? join(stateDir, "upper"));
	const work = resolve(params.work ?? join(stateDir, "work"));
	for (const [name, p] of [
		["--upper", upper],
		["--work", work],
		["--lower", lower],
		["target", target],
	] as const) {
		if (/[,:\\\n]/.test(p))
			throw new UsageError("OVERLAY_BAD_PATH", `${name} ${p} contains a comma, colon, backslash or newline, which overlayfs options cannot carry`, {
				hint: "use a path without those characters",
			});
	}
	for (const [name, p] of [
		["--upper", upper],
		["--work", work],
	] as const) {
		if (inside(p, target) || inside(target, p) || inside(p, lower)) {
			throw new UsageError("OVERLAY_BAD_PATH", `${name} ${p} must be outside the target ${target} and the lower ${lower}`, {
				hint: "put upper and work on node-local disk, e.g. under /var/lib/modelfs",
			});
		}
	}
	if (inside(target, lower) || inside(lower, target)) {
		throw new UsageError("OVERLAY_BAD_PATH", `the target ${target} and the lower ${lower} must not contain each other`, {
			hint: "mount the view somewhere else, e.g. /run/modelfs/hf",
		});
	}
	await mkdir(upper, { recursive: true });
	await mkdir(work, { recursive: true });
	if ((await stat(upper)).dev !== (await stat(work)).dev) {
		throw new UsageError("OVERLAY_UPPER_WORK_FS", `upper ${upper} and work ${work} are on different filesystems`, {
			hint: "overlayfs needs both on one filesystem: give --work a folder beside --upper",
		});
	}

	// Try the mount on a scratch folder before moving anything: a refused
	// upper filesystem must fail while the target is still untouched.
	await mkdir(stateDir, { recursive: true });
	const scratch = await mkdtemp(join(stateDir, "probe-"));
	try {
		await mountOverlay({ at: scratch, lower, upper, work, path: target });
		await runMountTool({ tool: "umount", args: [scratch], path: scratch, what: "unmount the probe overlay" });
	} finally {
		await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
	}

	await writeOverlayState({ dir: stateDir, state: { format: 1, target, lower, upper, work, mountedAt: new Date().toISOString() } });
	const moved = await moveTree({ from: target, to: upper, conflictDir: join(stateDir, "conflicts", new Date().toISOString().replace(/[:.]/g, "-")) });
	try {
		await mountOverlay({ at: target, lower, upper, work });
	} catch (err) {
		if (err instanceof MountError && moved.files > 0) {
			throw new MountError(err.code, `${err.message}; the folder's previous contents are safe in ${upper}`, {
				path: target,
				cause: err,
				hint: `${err.hint ?? ""} (modelfs overlay down ${target} --restore puts them back)`.trim(),
			});
		}
		throw err;
	}
	return { target, lower, upper, work, alreadyMounted: false, moved };
}

async function existingTarget(target: string, create: boolean): Promise<string> {
	try {
		if (create) await mkdir(target, { recursive: true });
		const real = await realpath(target);
		if (!(await stat(real)).isDirectory()) throw new UsageError("OVERLAY_BAD_PATH", `the target ${target} is not a folder`, { hint: "give the backend's cache folder" });
		return real;
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
		throw new UsageError("OVERLAY_NO_TARGET", `the target ${target} does not exist`, {
			hint: "check the path (a typo would mount a folder no backend reads); to make it, pass --create (create: true for a backend in the config)",
		});
	}
}

async function checkedLower(lower: string, anyLower: boolean): Promise<string> {
	try {
		const s = await stat(lower);
		if (!s.isDirectory()) throw new UsageError("OVERLAY_BAD_LOWER", `--lower ${lower} is not a folder`, { hint: "give the view's mount point, e.g. /run/modelfs/hf" });
		const real = await realpath(lower);
		if (!anyLower) await requireView(real);
		return real;
	} catch (err) {
		const code = (err as NodeJS.ErrnoException).code;
		if (code === "ENOENT") throw new UsageError("OVERLAY_BAD_LOWER", `--lower ${lower} does not exist`, { hint: "mount the view first: modelfs mount <mountpoint>" });
		if (code === "ENOTCONN")
			throw new MountError("VIEW_DEAD", `the view at ${lower} is not answering (its daemon died)`, { path: lower, errno: code, hint: `mount it again: modelfs mount ${lower}` });
		throw err;
	}
}

/** The mount `lower` lies in must be a modelfs view (the stat above showed it answers). */
async function requireView(lower: string): Promise<void> {
	const containing = (await readMountinfo())
		.filter((m) => m.mountpoint === lower || inside(lower, m.mountpoint))
		.reduce<MountinfoEntry | null>((best, m) => (best === null || m.mountpoint.length >= best.mountpoint.length ? m : best), null);
	if (containing?.fstype === "fuse.modelfs") return;
	throw new UsageError("OVERLAY_LOWER_NOT_VIEW", `--lower ${lower} is not in a modelfs view (it is on ${containing?.fstype ?? "?"} mounted at ${containing?.mountpoint ?? "?"})`, {
		hint: "mount the view first (modelfs mount <mountpoint>) and give its mount point; pass --any-lower to put a plain folder underneath on purpose",
	});
}

function inside(child: string, parent: string): boolean {
	const rel = relative(parent, child);
	return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}
