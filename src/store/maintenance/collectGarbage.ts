import { stat } from "node:fs/promises";
import { join } from "node:path";
import { IndexError } from "../../errors.js";
import { listCatalogGenerations } from "../catalog/listCatalogGenerations.js";
import type { CatalogSkip } from "../catalog/readCatalog.js";
import { readCatalogFile } from "../catalog/readCatalogFile.js";
import { blobPath } from "../objects/blobPath.js";
import { listObjects } from "../objects/listObjects.js";
import { removeBlobs } from "../objects/removeBlobs.js";
import type { Store } from "../Store.js";
import type { Catalog } from "../StoreTypes.js";
import { STORE_PATHS } from "../storeFormat.js";

export interface CollectGarbageParams {
	/** A store open for writing (read-only is fine with `dryRun`). */
	store: Store;
	/** Blobs written less than this long ago are never removed. @default 3600000 (1 h) */
	graceMs?: number;
	/** Report what would go, change nothing. @default false */
	dryRun?: boolean;
	/** Told of each recent catalog generation passed over because it does not parse. @default none */
	onSkip?: (skip: CatalogSkip) => void;
}

export interface GarbageReport {
	/** Blobs removed (or that would be, with dryRun). */
	removed: number;
	removedBytes: number;
	/** Unreferenced blobs kept because they are younger than the grace period. */
	young: number;
	youngBytes: number;
	/** Blobs referenced by a snapshot or a kept catalog. */
	live: number;
	dryRun: boolean;
}

/**
 * Mark and sweep: marks every blob referenced by a snapshot in the index or
 * by a catalog generation published within the grace period (a view may be
 * built from it), then removes unmarked blobs older than the grace period: from the
 * index first, then the object file, so a crash in between leaves only an
 * orphan object that the next gc removes.
 */
export async function collectGarbage(params: CollectGarbageParams): Promise<GarbageReport> {
	const { store } = params;
	const index = store.index;
	const dryRun = params.dryRun ?? false;
	const graceMs = params.graceMs ?? 3_600_000;
	if (!Number.isFinite(graceMs) || graceMs < 0) throw new TypeError("collectGarbage: `graceMs` must be a non-negative number");
	if (!index) throw new IndexError("INDEX_UNAVAILABLE", `the index of ${store.dir} cannot be opened here`, { hint: "run gc on the writer node" });
	if (!dryRun && store.readOnly) throw new IndexError("INDEX_READ_ONLY", `gc needs the writer lock on ${store.dir}`, { hint: "use --dry-run to only report" });

	const marked = new Set<string>();
	for (const { value } of index.snapshots.getRange({ snapshot: false })) for (const f of value.files) marked.add(f.blake3);
	// Views may still be built from a catalog published within the grace period.
	const now = Date.now();
	for (const generation of await listCatalogGenerations(store.dir)) {
		const path = join(store.dir, STORE_PATHS.catalog, String(generation));
		const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
			if (err.code === "ENOENT") return null;
			throw err;
		});
		if (!st || now - st.mtimeMs >= graceMs) continue;
		let catalog: Catalog | null;
		try {
			catalog = await readCatalogFile({ path });
		} catch (err) {
			// No view can be built from a catalog that does not parse, so it
			// holds no blob alive; the index's snapshots are marked above.
			if (err instanceof IndexError && err.code === "INDEX_CATALOG_CORRUPT") {
				params.onSkip?.({ path, generation, reason: err.message });
				continue;
			}
			throw err;
		}
		for (const r of catalog?.repos ?? []) for (const s of r.snapshots) for (const f of s.files) marked.add(f.blake3);
	}

	const report: GarbageReport = { removed: 0, removedBytes: 0, young: 0, youngBytes: 0, live: marked.size, dryRun };
	const doomed: Array<{ blake3: string; size: number; indexed: boolean }> = [];
	const indexed = new Set<string>();
	for (const { key, value } of index.blobs.getRange({ snapshot: false })) {
		const blake3 = Buffer.from(key).toString("hex");
		indexed.add(blake3);
		if (marked.has(blake3)) continue;
		const st = await stat(blobPath(store.dir, blake3)).catch(() => null);
		if (st && now - st.mtimeMs < graceMs) {
			report.young++;
			report.youngBytes += value.size;
			continue;
		}
		doomed.push({ blake3, size: value.size, indexed: true });
	}
	// Objects that never made it into the index (a crash between rename and index put).
	for await (const obj of listObjects(store.dir)) {
		if (indexed.has(obj.blake3) || marked.has(obj.blake3)) continue;
		if (now - obj.mtimeMs < graceMs) {
			report.young++;
			report.youngBytes += obj.size;
			continue;
		}
		doomed.push({ blake3: obj.blake3, size: obj.size, indexed: false });
	}
	report.removed = doomed.length;
	report.removedBytes = doomed.reduce((n, d) => n + d.size, 0);
	if (dryRun || doomed.length === 0) return report;

	await removeBlobs({ store, blobs: doomed.map((d) => d.blake3) });
	return report;
}
