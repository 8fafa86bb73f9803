import { chmodSync, existsSync, readdirSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commitSnapshot } from "../../../src/store/index/commitSnapshot.js";
import { findBlob } from "../../../src/store/index/findBlob.js";
import { verifyStore } from "../../../src/store/maintenance/verifyStore.js";
import { blobPath } from "../../../src/store/objects/blobPath.js";
import { putFile } from "../../../src/store/objects/putFile.js";
import { newStore, tempDir } from "../storeFixtures.js";

describe("verifyStore", () => {
	it("finds a corrupted blob, names the snapshot files that use it, and quarantines it with repair", async () => {
		const store = await newStore();
		const dir = tempDir();
		writeFileSync(join(dir, "good"), "good content");
		writeFileSync(join(dir, "bad"), "content to corrupt");
		const good = await putFile({ store, path: join(dir, "good") });
		const bad = await putFile({ store, path: join(dir, "bad") });
		await commitSnapshot({
			store,
			snapshot: { repo: { type: "model", name: "org/a" }, commit: "1".repeat(40), files: [{ path: "w.bin", blake3: bad.blake3, size: bad.size, etag: bad.sha256 }] },
		});
		expect((await verifyStore({ store, full: true })).problems).toEqual([]);

		const path = blobPath(store.dir, bad.blake3);
		chmodSync(path, 0o644);
		writeFileSync(path, "CONTENT TO CORRUPT");
		chmodSync(path, 0o444);

		// Not --full: the changed mtime alone makes it hash that blob again.
		const r = await verifyStore({ store });
		expect(r.problems).toHaveLength(1);
		expect(r.problems[0]).toMatchObject({ blake3: bad.blake3, reason: "content", usedBy: [`org/a@${"1".repeat(40)}:w.bin`] });
		expect(r.skipped).toBe(1);
		expect(existsSync(path)).toBe(true);

		const fixed = await verifyStore({ store, repair: true });
		expect(fixed.repaired).toBe(true);
		expect(existsSync(path)).toBe(false);
		expect(readdirSync(join(store.dir, "quarantine"))[0]).toContain(bad.blake3);
		expect(findBlob({ store, blake3: bad.blake3 })).toBeNull();
		expect(findBlob({ store, blake3: good.blake3 })).not.toBeNull();
		// Importing it again brings it back.
		expect((await putFile({ store, path: join(dir, "bad") })).blake3).toBe(bad.blake3);
		expect((await verifyStore({ store, full: true })).problems).toEqual([]);
	});

	it("reports a missing blob and a truncated one without hashing", async () => {
		const store = await newStore();
		const dir = tempDir();
		writeFileSync(join(dir, "a"), "aaaa");
		writeFileSync(join(dir, "b"), "bbbb");
		const a = await putFile({ store, path: join(dir, "a") });
		const b = await putFile({ store, path: join(dir, "b") });
		unlinkSync(blobPath(store.dir, a.blake3));
		chmodSync(blobPath(store.dir, b.blake3), 0o644);
		writeFileSync(blobPath(store.dir, b.blake3), "bb");
		const r = await verifyStore({ store });
		expect(r.problems.map((p) => [p.blake3, p.reason]).sort()).toEqual(
			[
				[a.blake3, "missing"],
				[b.blake3, "size"],
			].sort(),
		);
		expect(r.hashed).toBe(0);
	});
});
