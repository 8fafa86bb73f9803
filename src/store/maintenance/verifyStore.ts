import { mkdir, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import pLimit from "p-limit";
import { IndexError } from "../../errors.js";
import { getHashPool } from "../../hash/getHashPool.js";
import { readCatalog } from "../catalog/readCatalog.js";
import { hexKey } from "../index/StoreIndex.js";
import { blobPath } from "../objects/blobPath.js";
import { removeBlobs } from "../objects/removeBlobs.js";
import type { Store } from "../Store.js";
import { STORE_PATHS } from "../storeFormat.js";

export interface VerifyStoreParams {
	/** An open store; read-only is fine unless `repair`. */
	store: Store;
	/** Hash every blob, not only those modified since their last check. @default false */
	full?: boolean;
	/** Move corrupt blobs to quarantine/ and drop them (and missing ones) from the index. @default false */
	repair?: boolean;
	signal?: AbortSignal;
	/** Called once with the bytes that will be hashed at most, then with bytes as they are hashed. */
	onTotal?: (bytes: number) => void;
	onProgress?: (bytes: number) => void;
}

export interface BlobProblem {
	blake3: string;
	/** `missing`, `size` (stat size differs from the index) or `content` (BLAKE3 differs). */
	reason: "missing" | "size" | "content";
	detail: string;
	/** Snapshot files that use this blob: `repo@commit:path`. */
	usedBy: string[];
	/** Where it was moved, with repair. */
	quarantinedTo?: string;
}

export interface VerifyReport {
	blobs: number;
	hashed: number;
	hashedBytes: number;
	/** Blobs not hashed: their ctime is the one recorded at their last hash. */
	skipped: number;
	problems: BlobProblem[];
	repaired: boolean;
}

/**
 * Checks every blob: stat and size first; then BLAKE3 of the content when the
 * object's ctime differs from the one recorded when it was last hashed (any
 * write moves it), or always with `full`.
 * Blobs are taken from the index, or from the catalog when the index cannot
 * be opened (read-only mount). Writers record the check time; `repair`
 * quarantines corrupt blobs so the next import or ingest stores them again.
 */
export async function verifyStore(params: VerifyStoreParams): Promise<VerifyReport> {
	const { store } = params;
	const index = store.index;
	if (params.repair && (store.readOnly || !index))
		throw new IndexError("INDEX_READ_ONLY", `verify --repair needs the writer lock on ${store.dir}`, { hint: "run it on the writer node" });
	const catalog = await readCatalog({ storeDir: store.dir });
	const usedBy = new Map<string, string[]>();
	const blobs = new Map<string, { size: number; checkedCtimeMs: number | undefined }>();
	for (const r of catalog?.repos ?? []) {
		for (const s of r.snapshots) {
			for (const f of s.files) {
				const list = usedBy.get(f.blake3) ?? [];
				list.push(`${r.name}@${s.commit}:${f.path}`);
				usedBy.set(f.blake3, list);
				// Without an index the catalog is the list; with one, catalog blobs the
				// index lacks (quarantined earlier, not yet stored again) still count.
				if (!blobs.has(f.blake3)) blobs.set(f.blake3, { size: f.size, checkedCtimeMs: undefined });
			}
		}
	}
	if (index) {
		for (const { key, value } of index.blobs.getRange({ snapshot: false })) {
			blobs.set(Buffer.from(key).toString("hex"), { size: value.size, checkedCtimeMs: value.checkedCtimeMs });
		}
	}

	const report: VerifyReport = { blobs: blobs.size, hashed: 0, hashedBytes: 0, skipped: 0, problems: [], repaired: false };
	const toHash: Array<{ blake3: string; size: number; ctimeMs: number }> = [];
	for (const [blake3, b] of blobs) {
		const st = await stat(blobPath(store.dir, blake3)).catch((err: NodeJS.ErrnoException) => {
			if (err.code === "ENOENT") return null;
			throw err;
		});
		if (!st) {
			report.problems.push({ blake3, reason: "missing", detail: "object file is missing", usedBy: usedBy.get(blake3) ?? [] });
			continue;
		}
		if (st.size !== b.size) {
			report.problems.push({ blake3, reason: "size", detail: `object has ${st.size} bytes, the index says ${b.size}`, usedBy: usedBy.get(blake3) ?? [] });
			continue;
		}
		// Any write (or chmod to make one) moves ctime, which cannot be set back.
		if (params.full || b.checkedCtimeMs === undefined || st.ctimeMs !== b.checkedCtimeMs) toHash.push({ blake3, size: b.size, ctimeMs: st.ctimeMs });
		else report.skipped++;
	}
	params.onTotal?.(toHash.reduce((n, b) => n + b.size, 0));

	const pool = getHashPool();
	const checked: Array<{ blake3: string; ctimeMs: number }> = [];
	const limit = pLimit(pool.size);
	await Promise.all(
		toHash.map((b) =>
			limit(async () => {
				params.signal?.throwIfAborted();
				const r = await pool.runFile({ path: blobPath(store.dir, b.blake3), sha256: false, sha1: false, signal: params.signal, onProgress: params.onProgress });
				report.hashed++;
				report.hashedBytes += r.size;
				if (r.blake3 !== b.blake3) report.problems.push({ blake3: b.blake3, reason: "content", detail: `content hashes to ${r.blake3}`, usedBy: usedBy.get(b.blake3) ?? [] });
				else checked.push({ blake3: b.blake3, ctimeMs: b.ctimeMs });
			}),
		),
	);

	if (index && !store.readOnly) {
		const now = Date.now();
		await index.env.transaction(() => {
			for (const c of checked) {
				const key = hexKey(c.blake3);
				const v = index.blobs.get(key);
				// ctime as stat saw it before hashing: a write during the hash moves it, so the next run hashes again.
				if (v) index.blobs.put(key, { ...v, checkedAt: now, checkedCtimeMs: c.ctimeMs });
			}
		});
	}

	if (params.repair && index && report.problems.length > 0) {
		const qdir = join(store.dir, STORE_PATHS.quarantine);
		await mkdir(qdir, { recursive: true });
		for (const p of report.problems) {
			if (p.reason !== "missing") {
				const to = join(qdir, `${p.blake3}.${Date.now()}`);
				await rename(blobPath(store.dir, p.blake3), to);
				p.quarantinedTo = to;
			}
		}
		// Quarantined objects are gone from objects/ already; this drops the index entries.
		await removeBlobs({ store, blobs: report.problems.map((p) => p.blake3) });
		report.repaired = true;
	}
	return report;
}
