import { lstat, mkdir, realpath, rename, rm, symlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { MountError, StoreError, UsageError } from "../errors.js";
import { readCatalog } from "../store/catalog/readCatalog.js";
import { openStore } from "../store/openStore.js";
import type { Store } from "../store/Store.js";
import { type Absorbable, findAbsorbable } from "./findAbsorbable.js";
import { findDownloads } from "./findDownloads.js";
import { type ImportDownloadsResult, importDownloads } from "./importDownloads.js";
import { listOverlayMounts } from "./listOverlayMounts.js";
import { mountOverlay } from "./mountOverlay.js";
import { overlayStateDir } from "./overlayStateDir.js";
import { readOverlayState } from "./readOverlayState.js";
import { runMountTool } from "./runMountTool.js";

export interface AbsorbTargetParams {
	/** An overlay target (its upper layer is absorbed) or a plain HF cache folder (with `lower`). */
	target: string;
	/** The store whose contents the view shows. */
	storeDir: string;
	/**
	 * The view laid out like the folder. For an overlay target it defaults to
	 * the overlay's lowerdir; for a plain folder it is required, and each
	 * duplicate becomes a symlink to the view's copy.
	 */
	lower?: string;
	/** Only report what would be imported and freed. @default false */
	dryRun?: boolean;
	/**
	 * On an overlay, first import into the store the complete snapshots the
	 * backend downloaded itself into the upper layer. @default true
	 */
	importDownloads?: boolean;
	/** Wait for another writer of the store instead of failing. @default false */
	wait?: boolean;
	/** Stops the import between chunks. */
	signal?: AbortSignal;
	/** Bytes read by the import since the last call (for a progress bar). */
	onProgress?: (bytes: number) => void;
	/** modelfs's node-local state folder. @default $MODELFS_STATE_DIR, else /var/lib/modelfs */
	stateDir?: string;
}

export interface AbsorbResult {
	target: string;
	mode: "overlay" | "plain";
	/** The folder local copies were removed from (upper, or the plain folder). */
	dir: string;
	lower: string;
	absorbed: Absorbable[];
	/** Bytes of local disk given back. */
	freedBytes: number;
	/** Entries taken out but put back because the view did not show them through the overlay (opaque folders). */
	keptBack: string[];
	dryRun: boolean;
	/** Snapshots the backend downloaded that were imported into the store (with dryRun: would be). */
	imported: ImportDownloadsResult["imported"];
	/** Downloads left alone, and why (unfinished, a shard missing, did not verify, read-only store). */
	notImported: Array<{ path: string; reason: string }>;
	/** The store cannot be written on this node: downloads were found, and nothing at all was changed. */
	readOnlyStore: boolean;
	/**
	 * Imported snapshots (`repo@commit`) the mounted view does not show yet:
	 * their local copies stay until the view is refreshed and absorb runs again.
	 */
	awaitingRefresh: string[];
}

/**
 * Frees local disk held by copies of what the view already serves. On an
 * overlay, complete snapshots the backend downloaded itself (a model the
 * store lacked) are first imported into the store, verified against their
 * blob names; a snapshot with anything unfinished, missing or not verifying
 * is left alone whole. On a node whose store is read-only such downloads
 * are reported and nothing is changed. Local copies go only once the view
 * shows the same bytes at the same path, so a snapshot just imported keeps
 * its copies until the view is refreshed (`awaitingRefresh`). On an
 * overlay it then removes those copies from the upper layer so the view's shows
 * through. overlayfs forbids changing a layer under a mounted overlay, so the
 * overlay is unmounted (it must not be busy), the copies are moved aside, the
 * overlay is mounted again and each path is checked through it; anything the
 * view does not show there (a folder made opaque by a delete-and-recreate)
 * is put back. On a plain HF cache folder: each duplicate is replaced by a
 * symlink to the view's copy.
 */
export async function absorbTarget(params: AbsorbTargetParams): Promise<AbsorbResult> {
	if (typeof params.target !== "string" || params.target === "") throw new TypeError("absorbTarget: `target` is required");
	const target = await realpath(resolve(params.target)).catch(() => {
		throw new UsageError("ABSORB_NO_TARGET", `${params.target} does not exist`, { hint: "give a backend cache folder" });
	});
	const mount = (await listOverlayMounts({ target })).at(-1);
	const stateDir = overlayStateDir({ target, stateDir: params.stateDir });
	const state = mount === undefined ? await readOverlayState({ dir: stateDir }) : null;
	const overlay =
		mount !== undefined ? { upper: mount.upper, work: mount.work, lower: mount.lower[0] } : state !== null ? { upper: state.upper, work: state.work, lower: state.lower } : null;
	if (overlay !== null && (overlay.upper === null || overlay.work === null)) {
		throw new UsageError("ABSORB_READ_ONLY_OVERLAY", `the overlay on ${target} has no upper layer`, { hint: "nothing to absorb" });
	}
	const lower = params.lower !== undefined ? resolve(params.lower) : overlay?.lower;
	if (lower === undefined) {
		throw new UsageError("ABSORB_NO_VIEW", `${target} has no modelfs overlay, so absorb needs --lower <view> to know where the store's copies are shown`, {
			hint: `e.g. modelfs absorb ${target} --lower /run/modelfs/hf (duplicates become symlinks into the view)`,
		});
	}
	const dir = overlay?.upper ?? target;
	const result: AbsorbResult = {
		target,
		mode: overlay ? "overlay" : "plain",
		dir,
		lower,
		absorbed: [],
		freedBytes: 0,
		keptBack: [],
		dryRun: params.dryRun ?? false,
		imported: [],
		notImported: [],
		readOnlyStore: false,
		awaitingRefresh: [],
	};
	const wasMounted = mount !== undefined;
	const remount = () => mountOverlay({ at: target, lower, upper: overlay!.upper!, work: overlay!.work!, what: "mount overlayfs again" });

	if (overlay !== null && params.importDownloads !== false) {
		// Downloads are read as the backend sees them: links into blobs the view holds resolve through the overlay.
		if (!wasMounted) await remount();
		try {
			const before = await readCatalog({ storeDir: params.storeDir });
			const found = await findDownloads({ upper: overlay.upper!, merged: target, catalog: before });
			result.notImported.push(...found.incomplete);
			if (found.complete.length > 0 && params.dryRun) {
				result.imported = found.complete.map((d) => ({ path: d.path, type: d.type, name: d.name, commit: d.commit, files: d.entries.length, bytes: d.bytes, refs: d.refs }));
			} else if (found.complete.length > 0) {
				let writer: Store | null = null;
				try {
					writer = await openStore({ storeDir: params.storeDir, write: true, wait: params.wait, signal: params.signal });
				} catch (err) {
					if (!(err instanceof StoreError && err.code === "STORE_READ_ONLY")) throw err;
				}
				if (writer === null) {
					result.readOnlyStore = true;
					result.notImported.push(...found.complete.map((d) => ({ path: `${d.path}/snapshots/${d.commit}`, reason: `the store ${params.storeDir} is read-only on this node` })));
					return result;
				}
				try {
					const r = await importDownloads({ store: writer, downloads: found.complete, catalog: before, signal: params.signal, onProgress: params.onProgress });
					result.imported = r.imported;
					result.notImported.push(...r.failed);
				} finally {
					await writer.close();
				}
			}
		} finally {
			if (!wasMounted) await unmount(target);
		}
		for (const i of result.imported) {
			const shown = await lstat(join(lower, i.path, "snapshots", i.commit)).catch(() => null);
			if (shown === null) result.awaitingRefresh.push(`${i.type === "dataset" ? "datasets/" : ""}${i.name}@${i.commit}`);
		}
	}

	const store = await openStore({ storeDir: params.storeDir });
	let absorbed: Absorbable[];
	try {
		const catalog = await readCatalog({ storeDir: params.storeDir });
		const catalogBlobs = new Set(catalog?.repos.flatMap((r) => r.snapshots.flatMap((s) => s.files.map((f) => f.blake3))) ?? []);
		absorbed = await findAbsorbable({ dir, lower, store, catalogBlobs });
	} finally {
		await store.close();
	}
	result.absorbed = absorbed;
	if (params.dryRun || absorbed.length === 0) {
		result.freedBytes = params.dryRun ? absorbed.reduce((n, a) => n + a.size, 0) : 0;
		return result;
	}

	if (overlay === null) {
		// A symlink equal to the view's frees nothing in a plain folder: leave it.
		result.absorbed = absorbed.filter((a) => a.kind === "file");
		for (const a of result.absorbed) {
			const at = join(target, a.path);
			const tmp = `${at}.modelfs-absorb-${process.pid}`;
			await symlink(join(lower, a.path), tmp);
			await rename(tmp, at);
			result.freedBytes += a.size;
		}
		return result;
	}

	// The aside folder sits in work/, which overlayfs requires on upper's filesystem: moves are renames.
	const aside = join(overlay.work!, `modelfs-absorb-${process.pid}-${Date.now()}`);
	if (wasMounted) await unmount(target);
	try {
		for (const a of absorbed) {
			await mkdir(dirname(join(aside, a.path)), { recursive: true });
			await rename(join(overlay.upper!, a.path), join(aside, a.path));
		}
	} finally {
		await remount();
	}
	for (const a of absorbed) {
		const s = await lstat(join(target, a.path)).catch(() => null);
		const ok = s !== null && (a.kind === "symlink" ? s.isSymbolicLink() : s.isFile() && s.size === a.size);
		if (ok) result.freedBytes += a.size;
		else result.keptBack.push(a.path);
	}
	if (result.keptBack.length > 0) {
		await unmount(target);
		for (const p of result.keptBack) {
			await mkdir(dirname(join(overlay.upper!, p)), { recursive: true });
			await rename(join(aside, p), join(overlay.upper!, p));
		}
		await remount();
		result.absorbed = absorbed.filter((a) => !result.keptBack.includes(a.path));
	}
	await rm(aside, { recursive: true, force: true });
	if (!wasMounted) await unmount(target);
	return result;
}

async function unmount(target: string): Promise<void> {
	try {
		await runMountTool({ tool: "umount", args: [target], path: target, what: "unmount the overlay for absorb" });
	} catch (err) {
		if (err instanceof MountError && err.code === "MOUNT_BUSY") {
			throw new MountError("ABSORB_BUSY", `cannot absorb ${target} while it is in use: overlayfs forbids changing the upper layer under a mounted overlay`, {
				path: target,
				cause: err,
				hint: `stop the backend that uses it (see \`fuser -vm ${target}\`), run absorb, then start it again`,
			});
		}
		throw err;
	}
}
