import type { Stats } from "node:fs";
import { lstat, open, readdir, readFile, readlink, realpath, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import pLimit from "p-limit";
import { MountError } from "../errors.js";
import { listOverlayMounts } from "./listOverlayMounts.js";
import { type HiddenEntry, listWhiteouts } from "./listWhiteouts.js";

export interface CheckTargetParams {
	/** The backend's cache folder (an overlay target). */
	target: string;
	/** The view to compare with. @default the lowerdir of the overlay mounted at `target` */
	lower?: string;
	/** Read every byte of every file through the target, not only its first and last block. @default false */
	full?: boolean;
	/** Files checked at once. @default 8 */
	concurrency?: number;
	/** Called after each file (for progress). */
	onFile?: (path: string) => void;
	/** Bytes read through the target, as they are read (for a progress bar over `full` runs). */
	onBytes?: (bytes: number) => void;
}

export interface CheckProblem {
	/** Relative path under the target. */
	path: string;
	problem: string;
}

export interface CheckTargetResult {
	target: string;
	lower: string;
	/** Entries of the view checked (folders, files, symlinks). */
	entries: number;
	/** Regular files (as seen through symlinks) opened and read. */
	files: number;
	/** Their total size. */
	bytes: number;
	problems: CheckProblem[];
	/**
	 * View entries the overlay's upper layer hides (whiteouts, opaque
	 * folders); each is also one problem. Empty when `lower` was given for a
	 * folder without a modelfs overlay.
	 */
	hidden: HiddenEntry[];
}

/**
 * The canary's health check: everything the view shows must look the same
 * through the target (type, symlink target, size), every file must open and
 * read (its first and last block, or all of it with `full`), and every
 * `refs/<branch>` must name a snapshot folder that exists through the
 * target: what an offline loader needs. Problems are collected, not thrown.
 */
export async function checkTarget(params: CheckTargetParams): Promise<CheckTargetResult> {
	if (typeof params.target !== "string" || params.target === "") throw new TypeError("checkTarget: `target` is required");
	const target = resolve(params.target);
	let lower = params.lower === undefined ? undefined : resolve(params.lower);
	const real = await realpath(target).catch(() => target);
	const top = (await listOverlayMounts({ target: real })).at(-1);
	if (lower === undefined) {
		if (top === undefined || top.lower.length === 0) {
			throw new MountError("OVERLAY_NOT_MOUNTED", `${target} has no overlay mounted`, {
				path: target,
				hint: `mount it (modelfs up, or modelfs overlay up ${target} --lower <view>), or pass --lower <view> to compare a plain folder`,
			});
		}
		lower = top.lower[0];
	}
	const result: CheckTargetResult = { target, lower, entries: 0, files: 0, bytes: 0, problems: [], hidden: [] };
	const limit = pLimit(params.concurrency ?? 8);
	const jobs: Array<Promise<void>> = [];
	const problem = (path: string, text: string): void => {
		result.problems.push({ path, problem: text });
	};

	const walk = async (rel: string): Promise<void> => {
		let names: string[];
		try {
			names = await readdir(join(lower!, rel));
		} catch (err) {
			problem(rel || ".", `the view cannot list it: ${code(err)}`);
			return;
		}
		for (const name of names.sort()) {
			const p = rel === "" ? name : `${rel}/${name}`;
			let ls: Stats;
			try {
				ls = await lstat(join(lower!, p));
			} catch (err) {
				problem(p, `the view cannot stat it: ${code(err)}`);
				continue;
			}
			result.entries++;
			if (ls.isDirectory()) {
				const t = await lstat(join(target, p)).catch((err) => err as Error);
				if (t instanceof Error) problem(p, `missing through the target: ${code(t)}`);
				else if (!t.isDirectory()) problem(p, "is a folder in the view but not through the target");
				else await walk(p);
				continue;
			}
			jobs.push(limit(() => checkLeaf(p, ls)));
		}
	};

	const checkLeaf = async (p: string, ls: Stats): Promise<void> => {
		const via = join(target, p);
		try {
			const t = await lstat(via);
			if (ls.isSymbolicLink()) {
				if (!t.isSymbolicLink()) return problem(p, "is a symlink in the view but not through the target");
				const [a, b] = await Promise.all([readlink(join(lower!, p)), readlink(via)]);
				if (a !== b) return problem(p, `points to ${b} through the target, ${a} in the view`);
			} else if (t.isSymbolicLink() || t.isDirectory()) {
				return problem(p, "is a file in the view but not through the target");
			}
			// Only a symlink needs a second stat: for anything else lstat already said it all.
			const want = ls.isSymbolicLink() ? await stat(join(lower!, p)) : ls;
			const got = t.isSymbolicLink() ? await stat(via) : t;
			if (!got.isFile()) return problem(p, "does not lead to a regular file through the target");
			if (got.size !== want.size) return problem(p, `has ${got.size} bytes through the target, ${want.size} in the view`);
			const read = await readThrough(via, got.size, params.full ?? false, params.onBytes);
			if (read !== null) return problem(p, read);
			result.files++;
			result.bytes += got.size;
			if (p.split("/").includes("refs")) await checkRef(p, via);
		} catch (err) {
			problem(p, `cannot be read through the target: ${code(err)}`);
		} finally {
			params.onFile?.(p);
		}
	};

	/** models--x/refs/main (or refs/pr/1) must name an existing snapshot folder. */
	const checkRef = async (p: string, via: string): Promise<void> => {
		const parts = p.split("/");
		const at = parts.lastIndexOf("refs");
		if (at < 1 || !/^(models|datasets|spaces)--/.test(parts[at - 1])) return;
		const commit = await readFile(via, "utf8");
		const snap = join(target, ...parts.slice(0, at), "snapshots", commit);
		const s = await stat(snap).catch(() => null);
		if (s === null || !s.isDirectory()) problem(p, `names commit ${commit}, but snapshots/${commit} is missing through the target`);
	};

	await walk("");
	await Promise.all(jobs);
	if (top?.upper != null && top.lower[0] === lower) {
		// What the upper layer hides is one problem each, with the command that shows it again.
		result.hidden = await listWhiteouts({ upper: top.upper, lower, merged: real });
		for (const h of result.hidden) {
			result.problems = result.problems.filter((p) => p.path !== h.path && !p.path.startsWith(`${h.path}/`));
			const how =
				h.kind === "whiteout"
					? "hidden by a whiteout in the upper layer (deleted through the overlay, e.g. by `hf cache rm`)"
					: `made again after a delete through the overlay: its ${h.hiddenEntries} entries from the view are hidden`;
			problem(h.path, `${how}; \`modelfs overlay unhide ${target} ${h.path}\` shows it again`);
		}
	}
	result.problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
	return result;
}

/** Reads the first and last block (or everything); returns a problem text or null. */
async function readThrough(path: string, size: number, full: boolean, onBytes?: (bytes: number) => void): Promise<string | null> {
	const fh = await open(path, "r");
	try {
		const buf = Buffer.allocUnsafe(1 << 20);
		if (full) {
			let total = 0;
			for (;;) {
				const { bytesRead } = await fh.read(buf, 0, buf.length, total);
				if (bytesRead === 0) break;
				total += bytesRead;
				onBytes?.(bytesRead);
			}
			return total === size ? null : `read ${total} bytes of ${size}`;
		}
		if (size === 0) return null;
		const first = await fh.read(buf, 0, Math.min(size, 65536), 0);
		if (first.bytesRead !== Math.min(size, 65536)) return `short read at the start (${first.bytesRead} bytes)`;
		const last = await fh.read(buf, 0, 1, size - 1);
		if (last.bytesRead !== 1) return "the last byte cannot be read";
		const past = await fh.read(buf, 0, 1, size);
		if (past.bytesRead !== 0) return "is longer than its size";
		return null;
	} finally {
		await fh.close();
	}
}

function code(err: unknown): string {
	const e = err as NodeJS.ErrnoException;
	return e?.code ?? e?.message ?? String(err);
}
