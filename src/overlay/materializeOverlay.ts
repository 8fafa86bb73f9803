import { constants } from "node:fs";
import { chmod, copyFile, lstat, mkdir, open, readdir, readlink, rename, rm, statfs, symlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ModelfsError } from "../errors.js";
import { readCatalog } from "../store/catalog/readCatalog.js";
import { blobPath } from "../store/objects/blobPath.js";
import { mountOverlay } from "./mountOverlay.js";
import type { OverlayMount } from "./OverlayTypes.js";
import { runMountTool } from "./runMountTool.js";

export interface MaterializeOverlayParams {
	/** The overlay, mounted (what the folder shows is read through it). */
	mount: OverlayMount;
	/**
	 * The store the view serves, to copy (reflink where the filesystem can)
	 * from its blobs instead of through the view. @default none: every file
	 * is copied through the view
	 */
	storeDir?: string;
	/** Bytes to keep free on the target's filesystem beyond what is copied. @default 64 MiB */
	reserveBytes?: number;
	/** Told the bytes to copy once they are known, then the bytes of each file copied (for a progress bar). */
	onTotal?: (bytes: number) => void;
	onProgress?: (bytes: number) => void;
}

export interface MaterializeResult {
	/** Regular files copied in from the view. */
	files: number;
	bytes: number;
	/** Of those, copied from the store's blob with FICLONE (shared extents, no new space). */
	reflinkedFiles: number;
	reflinkedBytes: number;
	/** Symlinks and folders the view provided, made as real ones. */
	symlinks: number;
	dirs: number;
	/** Free bytes on the target's filesystem before copying. */
	freeBytes: number;
}

interface Planned {
	path: string;
	kind: "file" | "symlink" | "dir";
	size: number;
	mode: number;
	/** symlink target */
	link?: string;
}

/**
 * The first half of `overlay down --materialize`: with the overlay mounted,
 * lists every entry the folder shows that comes from the view (not from the
 * upper layer, not hidden by it), unmounts the overlay (it must not be
 * busy), checks that the target's own filesystem has room, and copies those
 * entries into the target as real files, symlinks and folders: from the
 * store's blob with FICLONE where the filesystem can share extents, else a
 * plain copy, each written to a temporary name, synced, size-checked and
 * renamed. The caller then moves the upper layer's own entries back
 * (`overlayDown` does). With too little room it mounts the overlay again and
 * throws OVERLAY_NO_SPACE, having changed nothing.
 */
export async function materializeOverlay(params: MaterializeOverlayParams): Promise<MaterializeResult> {
	const { mount } = params;
	const target = mount.target;
	const lower = mount.lower[0];
	if (lower === undefined || mount.upper === null || mount.work === null) throw new TypeError("materializeOverlay: the overlay needs one lower, an upper and a work folder");
	const upper = mount.upper;
	const plan: Planned[] = [];
	const walk = async (rel: string): Promise<void> => {
		for (const name of (await readdir(join(target, rel))).sort()) {
			const p = rel === "" ? name : `${rel}/${name}`;
			const s = await lstat(join(target, p));
			const up = await lstat(join(upper, p)).catch(() => null);
			if (s.isDirectory()) {
				if (up === null) plan.push({ path: p, kind: "dir", size: 0, mode: s.mode & 0o7777 });
				await walk(p);
				continue;
			}
			if (up !== null) continue; // the upper layer's own: moved back by the caller
			if (s.isSymbolicLink()) plan.push({ path: p, kind: "symlink", size: 0, mode: 0, link: await readlink(join(target, p)) });
			else if (s.isFile()) plan.push({ path: p, kind: "file", size: s.size, mode: s.mode & 0o7777 });
		}
	};
	await walk("");
	const bytes = plan.reduce((n, e) => n + e.size, 0);
	const blobFor = await blobsByEtag(params);

	await runMountTool({ tool: "umount", args: [target], path: target, what: "unmount the overlay to materialize the view's files" });
	// The upper layer moves back too; a copy, not a rename, when it is on another filesystem.
	const [t, u] = await Promise.all([lstat(target), lstat(upper)]);
	const need = bytes + (t.dev === u.dev ? 0 : await treeBytes(upper)) + (params.reserveBytes ?? 64 << 20);
	const fs = await statfs(target);
	const freeBytes = fs.bavail * fs.bsize;
	if (freeBytes < need) {
		await mountOverlay({ at: target, lower, upper, work: mount.work, what: "mount overlayfs again" });
		throw new ModelfsError("OVERLAY_NO_SPACE", `${target} needs ${need} bytes to hold the view's files as real files, its filesystem has ${freeBytes} free; nothing was changed`, {
			hint: "free space there (or absorb and drop models the backend no longer needs), then run it again; the overlay is mounted as before",
		});
	}

	const result: MaterializeResult = { files: 0, bytes: 0, reflinkedFiles: 0, reflinkedBytes: 0, symlinks: 0, dirs: 0, freeBytes };
	params.onTotal?.(bytes);
	for (const e of plan) {
		const at = join(target, e.path);
		if (e.kind === "dir") {
			await mkdir(at, { recursive: true, mode: e.mode });
			await chmod(at, e.mode | 0o200);
			result.dirs++;
			continue;
		}
		await mkdir(dirname(at), { recursive: true });
		const tmp = join(dirname(at), `.${basename(at)}.modelfs-materialize-${process.pid}`);
		if (e.kind === "symlink") {
			await rm(tmp, { force: true });
			await symlink(e.link!, tmp);
			await rename(tmp, at);
			result.symlinks++;
			continue;
		}
		const blob = blobFor(e.path);
		let reflinked = false;
		if (blob !== undefined && blob.size === e.size) {
			try {
				await copyFile(blob.path, tmp, constants.COPYFILE_FICLONE_FORCE);
				reflinked = true;
			} catch {
				// Another filesystem, or one without reflinks: copy the bytes.
			}
		}
		if (!reflinked) await copyFile(blob !== undefined && blob.size === e.size ? blob.path : join(lower, e.path), tmp, constants.COPYFILE_FICLONE);
		const fh = await open(tmp, "r+");
		try {
			await fh.sync();
			const s = await fh.stat();
			if (s.size !== e.size) {
				throw new ModelfsError("OVERLAY_COPY_MISMATCH", `the copy of ${e.path} at ${tmp} has ${s.size} bytes, the view shows ${e.size}`, {
					hint: "check the target's disk and the view (modelfs check), then run it again",
				});
			}
			await fh.chmod(e.mode | 0o200);
		} finally {
			await fh.close();
		}
		await rename(tmp, at);
		params.onProgress?.(e.size);
		result.files++;
		result.bytes += e.size;
		if (reflinked) {
			result.reflinkedFiles++;
			result.reflinkedBytes += e.size;
		}
	}
	await syncDir(target);
	return result;
}

/** Maps a view path `.../blobs/<etag>` to its store blob, through the catalog (an etag names one content). */
async function blobsByEtag(params: MaterializeOverlayParams): Promise<(path: string) => { path: string; size: number } | undefined> {
	const storeDir = params.storeDir;
	const catalog = storeDir === undefined ? null : await readCatalog({ storeDir }).catch(() => null);
	const byEtag = new Map<string, { path: string; size: number }>();
	for (const r of catalog?.repos ?? []) for (const s of r.snapshots) for (const f of s.files) byEtag.set(f.etag, { path: blobPath(storeDir!, f.blake3), size: f.size });
	return (p: string) => {
		const parts = p.split("/");
		return parts.at(-2) === "blobs" ? byEtag.get(parts.at(-1)!) : undefined;
	};
}

async function treeBytes(dir: string): Promise<number> {
	let n = 0;
	for (const e of await readdir(dir, { withFileTypes: true })) {
		const p = join(dir, e.name);
		if (e.isDirectory()) n += await treeBytes(p);
		else if (e.isFile()) n += (await lstat(p)).size;
	}
	return n;
}

async function syncDir(dir: string): Promise<void> {
	const fh = await open(dir, "r");
	try {
		await fh.sync();
	} finally {
		await fh.close();
	}
}
