import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commitSnapshot } from "../../src/store/index/commitSnapshot.js";
import { putFile } from "../../src/store/objects/putFile.js";
import { openStore } from "../../src/store/openStore.js";
import type { SnapshotFile } from "../../src/store/StoreTypes.js";
import type { FakeHubFile } from "./fixtures.js";

/**
 * Creates (or adds to) a real store with one repo at one commit, through the
 * store's own API; etags are the sha256 of each file (LFS-style). Returns the
 * commit.
 */
export async function addRepoToStore(params: { storeDir: string; repo: string; files: FakeHubFile[]; commit?: string }): Promise<string> {
	const commit = params.commit ?? createHash("sha1").update(params.repo).digest("hex");
	const store = await openStore({ storeDir: params.storeDir, create: true, write: true });
	const scratch = mkdtempSync(join(tmpdir(), "modelfs-src-"));
	try {
		const files: SnapshotFile[] = [];
		for (const [i, f] of params.files.entries()) {
			const p = join(scratch, String(i));
			writeFileSync(p, f.bytes);
			const rec = await putFile({ store, path: p });
			files.push({ path: f.path, blake3: rec.blake3, size: rec.size, etag: rec.sha256 });
		}
		await commitSnapshot({ store, snapshot: { repo: { type: "model", name: params.repo }, commit, files }, refs: { main: commit } });
	} finally {
		await store.close();
		rmSync(scratch, { recursive: true, force: true });
	}
	return commit;
}
