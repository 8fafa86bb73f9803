import type { Stats } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import pLimit from "p-limit";
import { hashFile } from "../hash/hashFile.js";
import { findBlob } from "../store/index/findBlob.js";
import type { Store } from "../store/Store.js";

export interface FindAbsorbableParams {
	/** The folder holding local copies: an overlay's upper layer or a plain HF cache. */
	dir: string;
	/** The view, laid out like `dir` (the overlay's lowerdir). */
	lower: string;
	/** The open store, to ask whether a content is stored. */
	store: Store;
	/** BLAKE3 keys the published catalog lists: what a reader node (no index) knows is stored. */
	catalogBlobs: ReadonlySet<string>;
	/** Files hashed at once. @default 2 */
	concurrency?: number;
}

/** A local entry whose exact content the view already shows at the same path. */
export interface Absorbable {
	/** Relative path under `dir` (and under the view). */
	path: string;
	kind: "file" | "symlink";
	/** Bytes it takes locally (0 for a symlink). */
	size: number;
}

const HEX = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * Local files that duplicate what the view serves at the same path: the
 * content is in the store (index or catalog) and the view's file there has
 * the same bytes. For hub blobs (`.../blobs/<sha256 or sha1>`) the name
 * proves the view's content once the local file hashes to it; any other path
 * is compared by hashing the view's file too. Symlinks count when the view
 * has the same link. Hub bookkeeping (`.locks`, `*.incomplete`, `.no_exist`)
 * is never in the view, so it is never picked.
 */
export async function findAbsorbable(params: FindAbsorbableParams): Promise<Absorbable[]> {
	const { dir, lower, store, catalogBlobs } = params;
	const limit = pLimit(params.concurrency ?? 2);
	const found: Absorbable[] = [];
	const jobs: Array<Promise<void>> = [];

	const walk = async (rel: string): Promise<void> => {
		for (const name of (await readdir(join(dir, rel))).sort()) {
			const p = rel === "" ? name : `${rel}/${name}`;
			const s = await lstat(join(dir, p));
			if (s.isDirectory()) await walk(p);
			else if (s.isFile() || s.isSymbolicLink()) jobs.push(limit(() => consider(p, s)));
		}
	};

	const consider = async (p: string, s: Stats): Promise<void> => {
		const view = await lstat(join(lower, p)).catch(() => null);
		if (view === null) return;
		if (s.isSymbolicLink()) {
			if (view.isSymbolicLink() && (await readlink(join(lower, p))) === (await readlink(join(dir, p)))) found.push({ path: p, kind: "symlink", size: 0 });
			return;
		}
		if (!view.isFile() || view.size !== s.size) return;
		const parts = p.split("/");
		const name = parts[parts.length - 1];
		// git sha1 only for blobs named by one (non-LFS files): it costs a second digest.
		const local = await hashFile({ path: join(dir, p), sha1: parts[parts.length - 2] === "blobs" && name.length === 40 });
		const stored = findBlob({ store, blake3: local.blake3 }) !== null || catalogBlobs.has(local.blake3);
		if (!stored) return;
		const namedByContent = parts[parts.length - 2] === "blobs" && HEX.test(name) && (name === local.sha256 || name === local.sha1);
		if (!namedByContent) {
			const viewHash = await hashFile({ path: join(lower, p) });
			if (viewHash.blake3 !== local.blake3) return;
		}
		found.push({ path: p, kind: "file", size: s.size });
	};

	await walk("");
	await Promise.all(jobs);
	return found.sort((a, b) => (a.path < b.path ? -1 : 1));
}
