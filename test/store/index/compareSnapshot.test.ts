import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commitSnapshot } from "../../../src/store/index/commitSnapshot.js";
import { compareSnapshot } from "../../../src/store/index/compareSnapshot.js";
import { putFile } from "../../../src/store/objects/putFile.js";
import type { Store } from "../../../src/store/Store.js";
import type { SnapshotFile } from "../../../src/store/StoreTypes.js";
import { newStore, tempDir } from "../storeFixtures.js";

const C1 = "1".repeat(40);
const C2 = "2".repeat(40);
const repo = { type: "model" as const, name: "org/a" };

async function storeFile(store: Store, path: string, content: string): Promise<SnapshotFile> {
	const src = join(tempDir(), "f");
	writeFileSync(src, content);
	const r = await putFile({ store, path: src });
	return { path, blake3: r.blake3, size: r.size, etag: r.sha1 as string };
}

describe("compareSnapshot", () => {
	it("says new for a commit the index does not hold, same for the stored files in any order, changed otherwise", async () => {
		const store = await newStore();
		const a = await storeFile(store, "a", "a");
		const b = await storeFile(store, "b", "b");
		expect(compareSnapshot({ store, repo, commit: C1, files: [a, b] })).toBe("new");
		await commitSnapshot({ store, snapshot: { repo, commit: C1, files: [a, b] }, refs: { main: C1 } });
		expect(compareSnapshot({ store, repo, commit: C1, files: [b, a] })).toBe("same");
		expect(compareSnapshot({ store, repo, commit: C1, files: [b, a], refs: { main: C1 } })).toBe("same");
		expect(compareSnapshot({ store, repo, commit: C1, files: [a] })).toBe("changed");
		expect(compareSnapshot({ store, repo, commit: C1, files: [a, { ...b, etag: "0".repeat(40) }] })).toBe("changed");
		expect(compareSnapshot({ store, repo, commit: C1, files: [a, { ...b, path: "c" }] })).toBe("changed");
		expect(compareSnapshot({ store, repo: { type: "dataset", name: "org/a" }, commit: C1, files: [a, b] })).toBe("new");
	});

	it("says changed when a ref would move or be added", async () => {
		const store = await newStore();
		const a = await storeFile(store, "a", "a");
		await commitSnapshot({ store, snapshot: { repo, commit: C1, files: [a] }, refs: { main: C1 } });
		await commitSnapshot({ store, snapshot: { repo, commit: C2, files: [a] } });
		expect(compareSnapshot({ store, repo, commit: C2, files: [a] })).toBe("same");
		expect(compareSnapshot({ store, repo, commit: C2, files: [a], refs: { main: C2 } })).toBe("changed");
		expect(compareSnapshot({ store, repo, commit: C1, files: [a], refs: { v1: C1 } })).toBe("changed");
	});
});
