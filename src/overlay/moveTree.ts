import type { Stats } from "node:fs";
import { constants } from "node:fs";
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, open, readdir, readlink, rename, rm, rmdir, symlink, unlink, utimes } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ModelfsError } from "../errors.js";
import type { MoveResult } from "./OverlayTypes.js";

export interface MoveTreeParams {
	/** Folder whose entries are moved (it stays, empty). */
	from: string;
	/** Folder they are merged into (created if missing). */
	to: string;
	/**
	 * Where a different file already at the destination is put aside (same
	 * relative path) before the incoming one takes its place.
	 */
	conflictDir: string;
	/**
	 * Drop overlayfs whiteouts (0:0 character devices) instead of moving them:
	 * restoring an upper layer as plain files must not create device nodes.
	 * @default false
	 */
	dropWhiteouts?: boolean;
}

/**
 * Merges every entry of `from` into `to`, so that afterwards `to` shows what
 * `from` showed: rename where both are on one filesystem, else copy, compare
 * the bytes, then remove the source. Nothing is ever deleted unless an
 * identical copy is already at the destination; a different file at the
 * destination is moved under `conflictDir`. Safe to run again after a crash:
 * a half-done copy is found identical (or set aside) on the next run.
 */
export async function moveTree(params: MoveTreeParams): Promise<MoveResult> {
	const result: MoveResult = { files: 0, bytes: 0, duplicates: 0, conflicts: [], whiteouts: 0 };
	const fromStat = await lstat(params.from);
	await mkdir(params.to, { recursive: true });
	await mergeDir(params, fromStat.dev, params.from, params.to, "", result);
	return result;
}

async function mergeDir(params: MoveTreeParams, dev: number, from: string, to: string, rel: string, result: MoveResult): Promise<void> {
	const names = (await readdir(from)).sort();
	for (const name of names) {
		const src = join(from, name);
		const dst = join(to, name);
		const relPath = rel === "" ? name : `${rel}/${name}`;
		const s = await lstat(src);
		if (s.isDirectory() && s.dev !== dev) {
			throw new ModelfsError("OVERLAY_NESTED_MOUNT", `${src} is a mount point inside the folder being moved`, {
				hint: `unmount it first (or mount it somewhere else): modelfs never moves another filesystem's contents`,
			});
		}
		if (params.dropWhiteouts && isWhiteout(s)) {
			await unlink(src);
			result.whiteouts++;
			continue;
		}
		const d = await lstatOrNull(dst);
		if (d === null && s.isDirectory() && params.dropWhiteouts) {
			// Whiteouts may sit anywhere below: walk the folder instead of renaming it whole.
			await mkdir(dst, { mode: s.mode & 0o7777 });
			await chmod(dst, s.mode & 0o7777);
			await mergeDir(params, dev, src, dst, relPath, result);
			await rmdir(src);
			continue;
		}
		if (d === null) {
			await moveEntry(src, dst, s, result);
			continue;
		}
		if (s.isDirectory() && d.isDirectory()) {
			await mergeDir(params, dev, src, dst, relPath, result);
			await rmdir(src);
			continue;
		}
		if (isWhiteout(d)) {
			// A deletion marker in the upper layer: the incoming entry wins.
			await unlink(dst);
			await moveEntry(src, dst, s, result);
			continue;
		}
		if (await sameContent(src, s, dst, d)) {
			await rm(src, { recursive: true });
			result.duplicates++;
			continue;
		}
		const aside = join(params.conflictDir, relPath);
		await mkdir(dirname(aside), { recursive: true });
		await moveEntry(dst, aside, d, { files: 0, bytes: 0, duplicates: 0, conflicts: [], whiteouts: 0 });
		await moveEntry(src, dst, s, result);
		result.conflicts.push(relPath);
	}
}

/** Moves one entry (a whole folder included) to a path that does not exist. */
async function moveEntry(src: string, dst: string, s: Stats, result: MoveResult): Promise<void> {
	try {
		await rename(src, dst);
		countEntry(s, result);
		if (s.isDirectory()) await countTree(dst, result);
		return;
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
	}
	await copyEntry(src, dst, s, result);
	await rm(src, { recursive: true });
}

function countEntry(s: Stats, result: MoveResult): void {
	if (s.isDirectory()) return;
	result.files++;
	if (s.isFile()) result.bytes += s.size;
}

async function countTree(dir: string, result: MoveResult): Promise<void> {
	for (const entry of await readdir(dir, { withFileTypes: true })) {
		const p = join(dir, entry.name);
		const s = await lstat(p);
		countEntry(s, result);
		if (s.isDirectory()) await countTree(p, result);
	}
}

/** Copy across filesystems, checking every copied file byte for byte before anything is removed. */
async function copyEntry(src: string, dst: string, s: Stats, result: MoveResult): Promise<void> {
	if (s.isDirectory()) {
		await mkdir(dst, { mode: s.mode & 0o7777 });
		for (const name of (await readdir(src)).sort()) {
			const child = join(src, name);
			await copyEntry(child, join(dst, name), await lstat(child), result);
		}
		await chmod(dst, s.mode & 0o7777);
		await lchown(dst, s.uid, s.gid).catch(() => undefined);
		await utimes(dst, s.atime, s.mtime);
		return;
	}
	if (s.isSymbolicLink()) {
		await symlink(await readlink(src), dst);
		await lchown(dst, s.uid, s.gid).catch(() => undefined);
		await lutimes(dst, s.atime, s.mtime).catch(() => undefined);
		countEntry(s, result);
		return;
	}
	if (!s.isFile()) {
		throw new ModelfsError("OVERLAY_UNSUPPORTED_FILE", `${src} is a socket, fifo or device and cannot be copied to another filesystem`, {
			hint: `move or delete it by hand, or put the upper layer on the same filesystem as ${dirname(src)}`,
		});
	}
	await copyFile(src, dst, constants.COPYFILE_EXCL);
	const fh = await open(dst, "r");
	try {
		await fh.sync();
	} finally {
		await fh.close();
	}
	const d = await lstat(dst);
	if (!(await sameContent(src, s, dst, d))) {
		throw new ModelfsError("OVERLAY_COPY_MISMATCH", `the copy of ${src} at ${dst} differs from the original; the original was kept`, {
			hint: "check the destination disk (full? failing?) and run the command again",
		});
	}
	await chmod(dst, s.mode & 0o7777);
	await lchown(dst, s.uid, s.gid).catch(() => undefined);
	await utimes(dst, s.atime, s.mtime);
	countEntry(s, result);
}

function isWhiteout(s: Stats): boolean {
	return s.isCharacterDevice() && s.rdev === 0;
}

async function lstatOrNull(path: string): Promise<Stats | null> {
	try {
		return await lstat(path);
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
		throw err;
	}
}

/** Same kind and same bytes (files), same target (symlinks). Folders are merged, never compared here. */
async function sameContent(a: string, as: Stats, b: string, bs: Stats): Promise<boolean> {
	if (as.isSymbolicLink() && bs.isSymbolicLink()) return (await readlink(a)) === (await readlink(b));
	if (!as.isFile() || !bs.isFile() || as.size !== bs.size) return false;
	const fa = await open(a, "r");
	const fb = await open(b, "r");
	try {
		const size = 1 << 20;
		const ba = Buffer.allocUnsafe(size);
		const bb = Buffer.allocUnsafe(size);
		for (let pos = 0; pos < as.size; ) {
			const [ra, rb] = await Promise.all([fa.read(ba, 0, size, pos), fb.read(bb, 0, size, pos)]);
			if (ra.bytesRead !== rb.bytesRead || ra.bytesRead === 0) return false;
			if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
			pos += ra.bytesRead;
		}
		return true;
	} finally {
		await fa.close();
		await fb.close();
	}
}
