import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { commitSnapshot } from "../../src/store/commitSnapshot.js";
import { openStore } from "../../src/store/openStore.js";
import { putFile } from "../../src/store/putFile.js";
import type { SnapshotFile } from "../../src/store/StoreTypes.js";

export interface ImportIntoStoreParams {
	/** Store to create (or open) and write. */
	storeDir: string;
	/** Plain model folder to import. */
	dir: string;
	/** `org/name`. */
	repo: string;
}

/**
 * Imports a plain folder as one snapshot (ref `main`) through the store's
 * public API. Stand-in for `modelfs import <dir> --as <repo>` until that
 * command lands.
 */
export async function importIntoStore(params: ImportIntoStoreParams): Promise<void> {
	const store = await openStore({ storeDir: params.storeDir, create: true });
	try {
		const files: SnapshotFile[] = [];
		for (const path of walk(params.dir, "")) {
			const blob = await putFile({ store, path: join(params.dir, path) });
			const lfs = path.endsWith(".safetensors") || blob.size >= 10_000_000 || blob.sha1 === null;
			files.push({ path, blake3: blob.blake3, size: blob.size, etag: lfs ? blob.sha256 : blob.sha1! });
		}
		const commit = createHash("sha1")
			.update(files.map((f) => `${f.path}\0${f.blake3}`).join("\n"))
			.digest("hex");
		await commitSnapshot({ store, snapshot: { repo: { type: "model", name: params.repo }, commit, files }, refs: { main: commit } });
	} finally {
		await store.close();
	}
}

function* walk(root: string, rel: string): Generator<string> {
	for (const e of readdirSync(join(root, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
		const path = rel ? `${rel}/${e.name}` : e.name;
		if (e.isDirectory()) yield* walk(root, path);
		else yield path;
	}
}
