import { chmodSync, readdirSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readCatalog } from "../../../src/store/catalog/readCatalog.js";
import { commitSnapshot } from "../../../src/store/index/commitSnapshot.js";
import { removeSnapshot } from "../../../src/store/index/removeSnapshot.js";
import { putFile } from "../../../src/store/objects/putFile.js";
import { openStore } from "../../../src/store/openStore.js";
import type { Store } from "../../../src/store/Store.js";
import type { SnapshotFile } from "../../../src/store/StoreTypes.js";
import { newStore, tempDir } from "../storeFixtures.js";

const C1 = "1".repeat(40);
const C2 = "2".repeat(40);

async function storeFile(store: Store, path: string, content: string): Promise<SnapshotFile> {
	const src = join(tempDir(), "f");
	writeFileSync(src, content);
	const r = await putFile({ store, path: src });
	return { path, blake3: r.blake3, size: r.size, etag: r.sha1 as string };
}

describe("commitSnapshot", () => {
	it("makes the snapshot visible in a new catalog generation", async () => {
		const store = await newStore();
		expect(await readCatalog({ storeDir: store.dir })).toBeNull();
		const f = await storeFile(store, "config.json", "{}");
		const { generation } = await commitSnapshot({ store, snapshot: { repo: { type: "model", name: "org/a" }, commit: C1, files: [f] }, refs: { main: C1 } });
		expect(generation).toBe(1);
		const cat = await readCatalog({ storeDir: store.dir });
		expect(cat).toMatchObject({ format: 1, generation: 1, repos: [{ type: "model", name: "org/a", refs: { main: C1 }, snapshots: [{ commit: C1, files: [f] }] }] });
	});

	it("refuses a snapshot whose blob is not stored, and changes nothing", async () => {
		const store = await newStore();
		const f = await storeFile(store, "a", "a");
		await commitSnapshot({ store, snapshot: { repo: { type: "model", name: "org/a" }, commit: C1, files: [f] } });
		const missing: SnapshotFile = { path: "w.safetensors", blake3: "e".repeat(64), size: 3, etag: "f".repeat(64) };
		await expect(commitSnapshot({ store, snapshot: { repo: { type: "model", name: "org/b" }, commit: C2, files: [f, missing] } })).rejects.toMatchObject({
			code: "STORE_MISSING_BLOB",
		});
		expect(store.index!.generation()).toBe(1);
		expect((await readCatalog({ storeDir: store.dir }))!.repos.map((r) => r.name)).toEqual(["org/a"]);
	});

	it("rejects paths that escape the snapshot", async () => {
		const store = await newStore();
		const f = await storeFile(store, "a", "a");
		for (const path of ["../x", "/etc/passwd", "a//b", "a/./b", ""]) {
			await expect(commitSnapshot({ store, snapshot: { repo: { type: "model", name: "org/a" }, commit: C1, files: [{ ...f, path }] } })).rejects.toMatchObject({
				code: "SNAPSHOT_PATH_INVALID",
			});
		}
		await expect(commitSnapshot({ store, snapshot: { repo: { type: "model", name: "org--a" }, commit: C1, files: [f] } })).rejects.toMatchObject({ code: "REPO_ID_INVALID" });
	});

	it("merges files into an existing snapshot of the same commit", async () => {
		const store = await newStore();
		const a = await storeFile(store, "a", "a");
		const b = await storeFile(store, "b", "b");
		await commitSnapshot({ store, snapshot: { repo: { type: "model", name: "org/a" }, commit: C1, files: [a] } });
		await commitSnapshot({ store, snapshot: { repo: { type: "model", name: "org/a" }, commit: C1, files: [b] } });
		const cat = await readCatalog({ storeDir: store.dir });
		expect(cat!.repos[0].snapshots[0].files.map((f) => f.path)).toEqual(["a", "b"]);
		await commitSnapshot({ store, snapshot: { repo: { type: "model", name: "org/a" }, commit: C1, files: [b] }, replace: true });
		expect((await readCatalog({ storeDir: store.dir }))!.repos[0].snapshots[0].files.map((f) => f.path)).toEqual(["b"]);
	});

	it("a writer that opens the store republishes a catalog a crash left behind the index", async () => {
		const store = await newStore();
		const a = await storeFile(store, "a", "a");
		await commitSnapshot({ store, snapshot: { repo: { type: "model", name: "org/a" }, commit: C1, files: [a] } });
		await commitSnapshot({ store, snapshot: { repo: { type: "model", name: "org/b" }, commit: C1, files: [a] } });
		await store.close();
		// As if the process died after the LMDB commit but before the rename into catalog/.
		unlinkSync(join(store.dir, "catalog", "2"));
		expect((await readCatalog({ storeDir: store.dir }))!.generation).toBe(1);
		const again = await openStore({ storeDir: store.dir, write: true });
		await again.close();
		const cat = await readCatalog({ storeDir: store.dir });
		expect(cat!.generation).toBe(2);
		expect(cat!.repos.map((r) => r.name)).toEqual(["org/a", "org/b"]);
	});

	it("readCatalog passes over a newest catalog that does not parse, naming it, and says clearly when none parses", async () => {
		const store = await newStore();
		const a = await storeFile(store, "a", "a");
		await commitSnapshot({ store, snapshot: { repo: { type: "model", name: "org/a" }, commit: C1, files: [a] } });
		writeFileSync(join(store.dir, "catalog", "9"), "{ not json");
		const skipped: string[] = [];
		const catalog = await readCatalog({ storeDir: store.dir, onSkip: (s) => skipped.push(s.path) });
		expect(catalog!.generation).toBe(1);
		expect(skipped).toEqual([join(store.dir, "catalog", "9")]);
		chmodSync(join(store.dir, "catalog", "1"), 0o644);
		writeFileSync(join(store.dir, "catalog", "1"), "null");
		await expect(readCatalog({ storeDir: store.dir, onSkip: () => undefined })).rejects.toMatchObject({ code: "INDEX_CATALOG_CORRUPT" });
	});

	it("keeps only the newest few catalog generations", async () => {
		const store = await newStore();
		const a = await storeFile(store, "a", "a");
		for (let i = 0; i < 8; i++) await commitSnapshot({ store, snapshot: { repo: { type: "model", name: `org/m${i}` }, commit: C1, files: [a] } });
		expect(
			readdirSync(join(store.dir, "catalog"))
				.map(Number)
				.sort((x, y) => x - y),
		).toEqual([4, 5, 6, 7, 8]);
		expect((await readCatalog({ storeDir: store.dir }))!.generation).toBe(8);
	});
});

describe("removeSnapshot", () => {
	it("removes one revision and the refs pointing at it, then the repo with its last snapshot", async () => {
		const store = await newStore();
		const a = await storeFile(store, "a", "a");
		const repo = { type: "model" as const, name: "org/a" };
		await commitSnapshot({ store, snapshot: { repo, commit: C1, files: [a] }, refs: { v1: C1 } });
		await commitSnapshot({ store, snapshot: { repo, commit: C2, files: [a] }, refs: { main: C2 } });
		expect((await removeSnapshot({ store, repo, revision: "v1" })).removed).toEqual([C1]);
		let cat = await readCatalog({ storeDir: store.dir });
		expect(cat!.repos[0]).toMatchObject({ refs: { main: C2 }, snapshots: [{ commit: C2 }] });
		await expect(removeSnapshot({ store, repo, revision: "nope" })).rejects.toMatchObject({ code: "REVISION_NOT_FOUND" });
		expect((await removeSnapshot({ store, repo, revision: C2.slice(0, 8) })).removed).toEqual([C2]);
		cat = await readCatalog({ storeDir: store.dir });
		expect(cat!.repos).toEqual([]);
		await expect(removeSnapshot({ store, repo })).rejects.toMatchObject({ code: "REPO_NOT_FOUND" });
	});
});
