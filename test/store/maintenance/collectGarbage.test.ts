import { existsSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commitSnapshot } from "../../../src/store/index/commitSnapshot.js";
import { findBlob } from "../../../src/store/index/findBlob.js";
import { removeSnapshot } from "../../../src/store/index/removeSnapshot.js";
import { collectGarbage } from "../../../src/store/maintenance/collectGarbage.js";
import { blobPath } from "../../../src/store/objects/blobPath.js";
import { putFile } from "../../../src/store/objects/putFile.js";
import type { Store } from "../../../src/store/Store.js";
import { newStore, tempDir } from "../storeFixtures.js";

const C1 = "1".repeat(40);

function age(store: Store, blake3: string, ms: number): void {
	const t = new Date(Date.now() - ms);
	utimesSync(blobPath(store.dir, blake3), t, t);
}

describe("collectGarbage", () => {
	it("removes unreferenced old blobs, keeps referenced and young ones", async () => {
		const store = await newStore();
		const dir = tempDir();
		writeFileSync(join(dir, "used"), "used");
		writeFileSync(join(dir, "old"), "old garbage");
		writeFileSync(join(dir, "young"), "young garbage");
		const used = await putFile({ store, path: join(dir, "used") });
		const old = await putFile({ store, path: join(dir, "old") });
		const young = await putFile({ store, path: join(dir, "young") });
		await commitSnapshot({
			store,
			snapshot: { repo: { type: "model", name: "org/a" }, commit: C1, files: [{ path: "u", blake3: used.blake3, size: used.size, etag: used.sha1 as string }] },
		});
		age(store, used.blake3, 2 * 3600_000);
		age(store, old.blake3, 2 * 3600_000);

		const dry = await collectGarbage({ store, graceMs: 3600_000, dryRun: true });
		expect(dry).toMatchObject({ removed: 1, young: 1, dryRun: true });
		expect(existsSync(blobPath(store.dir, old.blake3))).toBe(true);

		const r = await collectGarbage({ store, graceMs: 3600_000 });
		expect(r).toMatchObject({ removed: 1, removedBytes: old.size, young: 1 });
		expect(existsSync(blobPath(store.dir, old.blake3))).toBe(false);
		expect(findBlob({ store, blake3: old.blake3 })).toBeNull();
		expect(findBlob({ store, sha256: old.sha256 })).toBeNull();
		expect(existsSync(blobPath(store.dir, used.blake3))).toBe(true);
		expect(existsSync(blobPath(store.dir, young.blake3))).toBe(true);
	});

	it("frees the blobs of a removed repo (once its catalogs are past the grace period)", async () => {
		const store = await newStore();
		const src = join(tempDir(), "w");
		writeFileSync(src, "weights");
		const w = await putFile({ store, path: src });
		const repo = { type: "model" as const, name: "org/a" };
		await commitSnapshot({ store, snapshot: { repo, commit: C1, files: [{ path: "w", blake3: w.blake3, size: w.size, etag: w.sha256 }] } });
		await removeSnapshot({ store, repo });
		// Within the grace period the catalog that listed it still protects it.
		expect((await collectGarbage({ store, graceMs: 3600_000 })).removed).toBe(0);
		expect((await collectGarbage({ store, graceMs: 0 })).removed).toBe(1);
		expect(existsSync(blobPath(store.dir, w.blake3))).toBe(false);
	});

	it("passes over a recent catalog that does not parse (telling onSkip) instead of failing", async () => {
		const store = await newStore();
		const dir = tempDir();
		writeFileSync(join(dir, "old"), "old garbage");
		const old = await putFile({ store, path: join(dir, "old") });
		age(store, old.blake3, 2 * 3600_000);
		const bad = join(store.dir, "catalog", "7");
		writeFileSync(bad, '{"format": 1, "repos": [');
		const skipped: string[] = [];
		const r = await collectGarbage({ store, graceMs: 3600_000, onSkip: (s) => skipped.push(s.path) });
		expect(skipped).toEqual([bad]);
		expect(r).toMatchObject({ removed: 1 });
		expect(existsSync(blobPath(store.dir, old.blake3))).toBe(false);
	});

	it("removes orphan objects that never reached the index", async () => {
		const store = await newStore();
		const orphan = "ab".repeat(32);
		const path = blobPath(store.dir, orphan);
		const { mkdirSync } = await import("node:fs");
		mkdirSync(join(store.dir, "objects", "ab"), { recursive: true });
		writeFileSync(path, "orphan");
		age(store, orphan, 2 * 3600_000);
		expect((await collectGarbage({ store })).removed).toBe(1);
		expect(existsSync(path)).toBe(false);
	});
});
