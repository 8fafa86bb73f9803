import { statfs } from "node:fs/promises";
import { readCatalog } from "../catalog/readCatalog.js";
import { listObjects } from "../objects/listObjects.js";

export interface StoreUsageParams {
	/** The store directory. */
	storeDir: string;
}

/** What `modelfs df` prints. */
export interface StoreUsage {
	repos: number;
	snapshots: number;
	files: number;
	/** Sum of the sizes of every file of every snapshot: what plain caches would hold. */
	logicalBytes: number;
	/** Distinct blobs referenced by snapshots, and their bytes. */
	uniqueBlobs: number;
	uniqueBytes: number;
	/** Every object file on disk (referenced or not) and its bytes. */
	objects: number;
	storedBytes: number;
	/** logicalBytes / uniqueBytes (1 when empty). */
	dedupRatio: number;
	/** Filesystem of the store (statfs). */
	freeBytes: number;
	totalBytes: number;
}

/** Logical vs stored bytes, dedup ratio and free space; reads only the catalog and objects/ (works read-only). */
export async function storeUsage(params: StoreUsageParams): Promise<StoreUsage> {
	const catalog = await readCatalog({ storeDir: params.storeDir });
	const unique = new Map<string, number>();
	let snapshots = 0;
	let files = 0;
	let logicalBytes = 0;
	for (const r of catalog?.repos ?? []) {
		for (const s of r.snapshots) {
			snapshots++;
			for (const f of s.files) {
				files++;
				logicalBytes += f.size;
				unique.set(f.blake3, f.size);
			}
		}
	}
	let objects = 0;
	let storedBytes = 0;
	for await (const o of listObjects(params.storeDir)) {
		objects++;
		storedBytes += o.size;
	}
	const uniqueBytes = [...unique.values()].reduce((a, b) => a + b, 0);
	const fs = await statfs(params.storeDir);
	return {
		repos: catalog?.repos.length ?? 0,
		snapshots,
		files,
		logicalBytes,
		uniqueBlobs: unique.size,
		uniqueBytes,
		objects,
		storedBytes,
		dedupRatio: uniqueBytes > 0 ? logicalBytes / uniqueBytes : 1,
		freeBytes: fs.bavail * fs.bsize,
		totalBytes: fs.blocks * fs.bsize,
	};
}
