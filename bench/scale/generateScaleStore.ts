import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { publishCatalog } from "../../src/store/catalog/publishCatalog.js";
import { indexTransaction } from "../../src/store/index/indexTransaction.js";
import { putFile } from "../../src/store/objects/putFile.js";
import { openStore } from "../../src/store/openStore.js";
import type { BlobRecord, SnapshotFile } from "../../src/store/StoreTypes.js";

export interface GenerateScaleStoreParams {
	/** Where the store goes (created). */
	storeDir: string;
	/** A scratch folder for the blob sources. */
	scratch: string;
	/** @default 1000 */
	repos?: number;
	/** Files per repo. @default 100 */
	filesPerRepo?: number;
	/** Distinct blob contents the files share (the view's size, not the disk's, is what scales). @default 100 */
	blobs?: number;
	/** Repo names start with this. @default "scale/m" */
	namePrefix?: string;
}

/**
 * A store with `repos` x `filesPerRepo` files, written through the store's
 * own API but in one index transaction and one catalog publish (committing
 * 1,000 snapshots one by one would publish 1,000 growing catalogs). Files
 * share `blobs` small contents: what a view of 100,000 files costs is its
 * tree, not its bytes.
 */
export async function generateScaleStore(params: GenerateScaleStoreParams): Promise<{ files: number; generation: number }> {
	const repos = params.repos ?? 1000;
	const perRepo = params.filesPerRepo ?? 100;
	const blobCount = params.blobs ?? 100;
	const prefix = params.namePrefix ?? "scale/m";
	mkdirSync(params.scratch, { recursive: true });
	const store = await openStore({ storeDir: params.storeDir, create: true });
	try {
		const blobs: Array<BlobRecord> = [];
		for (let i = 0; i < blobCount; i++) {
			const src = join(params.scratch, `blob-${i}`);
			writeFileSync(src, randomBytes(4096 + i));
			blobs.push(await putFile({ store, path: src }));
		}
		const index = store.index!;
		let generation = 0;
		await indexTransaction({
			store,
			label: `${repos} generated repos`,
			body: () => {
				for (let r = 0; r < repos; r++) {
					const name = `${prefix}${String(r).padStart(4, "0")}`;
					const commit = createHash("sha1").update(name).digest("hex");
					const files: SnapshotFile[] = [];
					for (let f = 0; f < perRepo; f++) {
						const b = blobs[(r * perRepo + f) % blobs.length];
						files.push({ path: `shard-${String(Math.floor(f / 10)).padStart(2, "0")}/file-${String(f).padStart(3, "0")}.bin`, blake3: b.blake3, size: b.size, etag: b.sha256 });
					}
					files.sort((a, b) => (a.path < b.path ? -1 : 1));
					index.repos.put(["model", name], { refs: { main: commit } });
					index.snapshots.put(["model", name, commit], { files, createdAt: Date.now() });
				}
				generation = index.generation() + 1;
				index.meta.put("generation", generation);
			},
		});
		await index.env.flushed;
		await publishCatalog({ store });
		return { files: repos * perRepo, generation };
	} finally {
		await store.close();
	}
}
