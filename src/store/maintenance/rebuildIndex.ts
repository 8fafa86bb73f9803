import { mkdir, rename, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import pLimit from "p-limit";
import { IndexError, StoreError } from "../../errors.js";
import { getHashPool } from "../../hash/getHashPool.js";
import { acquireWriterLock } from "../acquireWriterLock.js";
import { listCatalogGenerations } from "../catalog/listCatalogGenerations.js";
import { publishCatalog } from "../catalog/publishCatalog.js";
import { type CatalogSkip, readCatalog } from "../catalog/readCatalog.js";
import { indexTransaction } from "../index/indexTransaction.js";
import { type BlobValue, hexKey, StoreIndex } from "../index/StoreIndex.js";
import { blobPath } from "../objects/blobPath.js";
import { fsyncDir } from "../objects/fsyncDir.js";
import { listObjects } from "../objects/listObjects.js";
import { readStoreFormat } from "../readStoreFormat.js";
import { Store } from "../Store.js";
import type { Catalog } from "../StoreTypes.js";
import { STORE_PATHS } from "../storeFormat.js";

export interface RebuildIndexParams {
	/** The store directory. */
	storeDir: string;
	/**
	 * Hash every blob the catalog names and leave out those whose content
	 * does not match. Without it only blobs whose sha256 the catalog does not
	 * give (small files named by their git sha1) are hashed. @default false
	 */
	verify?: boolean;
	/** Wait for another writer to finish instead of failing. @default false */
	wait?: boolean;
	signal?: AbortSignal;
	/** Told of each catalog generation passed over because it does not parse. @default none */
	onSkip?: (skip: CatalogSkip) => void;
	/** Called once with the bytes that will be hashed, then with bytes as they are hashed. */
	onTotal?: (bytes: number) => void;
	onProgress?: (bytes: number) => void;
}

/** What `modelfs rebuild-index` did. */
export interface RebuildReport {
	storeDir: string;
	/** Where the old index folder went, or null when there was none. */
	movedTo: string | null;
	/** The catalog generation the names came from (null: an empty store with no catalog and no objects). */
	catalog: { path: string; generation: number } | null;
	/** Newer catalog generations that did not parse, moved to quarantine/. */
	setAside: Array<{ path: string; movedTo: string }>;
	repos: number;
	snapshots: number;
	/** Blobs indexed, and their bytes. */
	blobs: number;
	bytes: number;
	hashed: number;
	hashedBytes: number;
	/** Blobs the catalog names that are not in objects/ (BLAKE3 hex). */
	missing: string[];
	/** Blobs whose object has another size than the catalog says, or (hashed) other content: not indexed. */
	damaged: string[];
	/** Objects no snapshot of the catalog uses: not indexed, `gc` removes them after its grace period. */
	unreferenced: number;
	/** The generation published from the new index. */
	generation: number;
	verified: boolean;
}

const HEX64 = /^[0-9a-f]{64}$/;
const HEX40 = /^[0-9a-f]{40}$/;

interface Wanted {
	size: number;
	/** From the catalog's etags: an LFS oid is the sha256, a git oid the sha1. */
	sha256: string | null;
	sha1: string | null;
}

function wantedBlobs(catalog: Catalog): Map<string, Wanted> {
	const blobs = new Map<string, Wanted>();
	for (const r of catalog.repos) {
		for (const s of r.snapshots) {
			for (const f of s.files) {
				const b = blobs.get(f.blake3) ?? { size: f.size, sha256: null, sha1: null };
				const etag = typeof f.etag === "string" ? f.etag.toLowerCase() : "";
				if (HEX64.test(etag)) b.sha256 ??= etag;
				else if (HEX40.test(etag)) b.sha1 ??= etag;
				blobs.set(f.blake3, b);
			}
		}
	}
	return blobs;
}

function noCatalog(dir: string, found: number): IndexError {
	return new IndexError(
		"INDEX_NO_CATALOG",
		`no catalog generation in ${join(dir, STORE_PATHS.catalog)} parses (${found} found): the repo and file names live only there and in the index, so the index cannot be rebuilt from the objects alone; nothing was changed`,
		{ hint: "restore a catalog file from a backup (or a reader node's copy) into that folder and run rebuild-index again, or import/ingest the repos again" },
	);
}

/**
 * Rebuilds a damaged LMDB index. Holding the writer lock throughout, it
 * moves `<store>/index` to `<store>/quarantine/index-<time>` (never
 * deleted), creates a new index and fills it from the newest catalog
 * generation that parses plus objects/: every blob the catalog names that
 * is on disk with the right size, its sha256/sha1 aliases from the
 * catalog's etags, the repos, refs and snapshots. Then it publishes a
 * catalog one generation above any present, so readers switch to it.
 * Blobs are not re-hashed (their check time is cleared, so the next
 * `verify` hashes them) unless `verify`. Throws INDEX_NO_CATALOG, changing
 * nothing, when no catalog parses: names cannot be recovered from objects.
 */
export async function rebuildIndex(params: RebuildIndexParams): Promise<RebuildReport> {
	if (typeof params?.storeDir !== "string" || params.storeDir === "") throw new TypeError("rebuildIndex: `storeDir` must be a non-empty string");
	const dir = resolve(params.storeDir);
	await readStoreFormat({ storeDir: dir });
	let release: () => Promise<void>;
	try {
		release = await acquireWriterLock({ storeDir: dir, wait: params.wait, signal: params.signal });
	} catch (err) {
		const code = (err as NodeJS.ErrnoException).code;
		if (code === "EROFS" || code === "EACCES" || code === "EPERM")
			throw new StoreError("STORE_READ_ONLY", `store is not writable (${code})`, { cause: err, hint: "run rebuild-index on the writer node" });
		throw err;
	}
	let store: Store | null = null;
	try {
		const skipped: CatalogSkip[] = [];
		const generations = await listCatalogGenerations(dir);
		let catalog: Catalog | null;
		try {
			catalog = await readCatalog({ storeDir: dir, onSkip: (s) => skipped.push(s) });
		} catch (err) {
			if (err instanceof IndexError && err.code === "INDEX_CATALOG_CORRUPT") throw noCatalog(dir, generations.length);
			throw err;
		}
		if (catalog === null) {
			// A store that never published anything holds no names to lose; one with objects does.
			const objects = listObjects(dir);
			const first = await objects.next();
			await objects.return(undefined);
			if (!first.done) throw noCatalog(dir, generations.length);
		}
		for (const s of skipped) params.onSkip?.(s);

		for (const sub of [STORE_PATHS.quarantine, STORE_PATHS.objects, STORE_PATHS.tmp, STORE_PATHS.catalog]) await mkdir(join(dir, sub), { recursive: true });
		const indexPath = join(dir, STORE_PATHS.index);
		const stamp = new Date().toISOString().replace(/[:.]/g, "-");
		let movedTo: string | null = join(dir, STORE_PATHS.quarantine, `index-${stamp}`);
		try {
			await rename(indexPath, movedTo);
			await fsyncDir(dir);
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
			movedTo = null;
		}
		await mkdir(indexPath, { recursive: true });
		store = new Store({ dir, readOnly: false, index: new StoreIndex({ path: indexPath, readOnly: false }), release });
		const index = store.index as StoreIndex;

		const wanted = catalog ? wantedBlobs(catalog) : new Map<string, Wanted>();
		const report: RebuildReport = {
			storeDir: dir,
			movedTo,
			catalog: catalog ? { path: join(dir, STORE_PATHS.catalog, String(catalog.generation)), generation: catalog.generation } : null,
			setAside: [],
			repos: catalog?.repos.length ?? 0,
			snapshots: catalog?.repos.reduce((n, r) => n + r.snapshots.length, 0) ?? 0,
			blobs: 0,
			bytes: 0,
			hashed: 0,
			hashedBytes: 0,
			missing: [],
			damaged: [],
			unreferenced: 0,
			generation: 0,
			verified: params.verify === true,
		};
		const records = new Map<string, BlobValue>();
		const toHash: Array<{ blake3: string; want: Wanted; ctimeMs: number }> = [];
		for (const [blake3, want] of wanted) {
			params.signal?.throwIfAborted();
			const st = await stat(blobPath(dir, blake3)).catch((err: NodeJS.ErrnoException) => {
				if (err.code === "ENOENT") return null;
				throw err;
			});
			if (!st) report.missing.push(blake3);
			// Left out of the index, so the next import or ingest stores it again (and `verify` names it).
			else if (st.size !== want.size) report.damaged.push(blake3);
			else if (params.verify || want.sha256 === null) toHash.push({ blake3, want, ctimeMs: st.ctimeMs });
			// checkedAt 0 and no ctime: the next verify hashes it.
			else records.set(blake3, { size: want.size, sha256: hexKey(want.sha256), sha1: want.sha1 ? hexKey(want.sha1) : null, checkedAt: 0 });
		}
		params.onTotal?.(toHash.reduce((n, b) => n + b.want.size, 0));
		const pool = getHashPool();
		const limit = pLimit(pool.size);
		const now = Date.now();
		await Promise.all(
			toHash.map((b) =>
				limit(async () => {
					params.signal?.throwIfAborted();
					// The git sha1 only for files the hub keeps in git (no sha256 etag): they are small.
					const r = await pool.runFile({ path: blobPath(dir, b.blake3), sha256: true, sha1: b.want.sha256 === null, signal: params.signal, onProgress: params.onProgress });
					report.hashed++;
					report.hashedBytes += r.size;
					if (r.blake3 !== b.blake3 || r.size !== b.want.size || r.sha256 === null) {
						report.damaged.push(b.blake3);
						return;
					}
					const sha1 = r.sha1 ?? b.want.sha1;
					records.set(b.blake3, { size: r.size, sha256: hexKey(r.sha256), sha1: sha1 ? hexKey(sha1) : null, checkedAt: now, checkedCtimeMs: b.ctimeMs });
				}),
			),
		);
		for await (const obj of listObjects(dir)) if (!wanted.has(obj.blake3)) report.unreferenced++;

		// Above every generation present (parsed or not), so readers take the new catalog.
		const generation = Math.max(catalog?.generation ?? 0, ...generations) + 1;
		await indexTransaction({
			store,
			label: `the rebuilt index of ${dir}`,
			body: () => {
				for (const [blake3, v] of records) {
					const key = hexKey(blake3);
					index.blobs.put(key, v);
					index.sha256.put(Buffer.from(v.sha256), key);
					if (v.sha1) index.sha1.put(Buffer.from(v.sha1), key);
				}
				const createdAt = Date.parse(catalog?.createdAt ?? "") || now;
				for (const r of catalog?.repos ?? []) {
					index.repos.put([r.type, r.name], { refs: { ...r.refs } });
					for (const s of r.snapshots) index.snapshots.put([r.type, r.name, s.commit], { files: s.files, createdAt });
				}
				index.meta.put("generation", generation);
			},
		});
		await index.env.flushed;
		for (const v of records.values()) report.bytes += v.size;
		report.blobs = records.size;
		// Kept as evidence, out of catalog/ (publishCatalog would prune them) before the new one lands.
		for (const s of skipped) {
			const to = join(dir, STORE_PATHS.quarantine, `catalog-${s.generation}.${Date.now()}`);
			try {
				await rename(s.path, to);
				report.setAside.push({ path: s.path, movedTo: to });
			} catch (err) {
				if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
			}
		}
		if (report.setAside.length > 0) await fsyncDir(join(dir, STORE_PATHS.catalog));
		report.generation = await publishCatalog({ store });
		report.missing.sort();
		report.damaged.sort();
		return report;
	} finally {
		if (store) await store.close();
		else await release();
	}
}
