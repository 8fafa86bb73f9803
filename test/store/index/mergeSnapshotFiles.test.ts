import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commitSnapshot } from "../../../src/store/index/commitSnapshot.js";
import { compareSnapshot } from "../../../src/store/index/compareSnapshot.js";
import { mergeSnapshotFiles } from "../../../src/store/index/mergeSnapshotFiles.js";
import { putFile } from "../../../src/store/objects/putFile.js";
import type { Store } from "../../../src/store/Store.js";
import type { SnapshotFile } from "../../../src/store/StoreTypes.js";
import { newStore, tempDir } from "../storeFixtures.js";

const C1 = "1".repeat(40);
const repo = { type: "model" as const, name: "org/a" };

async function storeFile(store: Store, path: string, content: string): Promise<SnapshotFile> {
	const src = join(tempDir(), "f");
	writeFileSync(src, content);
	const r = await putFile({ store, path: src });
	return { path, blake3: r.blake3, size: r.size, etag: r.sha1 as string };
}

describe("mergeSnapshotFiles", () => {
	it("adds files to the stored snapshot of the commit, replacing by path, sorted, as commitSnapshot stores them", async () => {
		const store = await newStore();
		const a = await storeFile(store, "a", "a");
		const b = await storeFile(store, "b", "b");
		const b2 = await storeFile(store, "b", "b2");
		expect(mergeSnapshotFiles({ store, repo, commit: C1, files: [b, a] })).toEqual([a, b]);
		await commitSnapshot({ store, snapshot: { repo, commit: C1, files: [b] } });
		const merged = mergeSnapshotFiles({ store, repo, commit: C1, files: [a, b2] });
		expect(merged).toEqual([a, b2]);
		await commitSnapshot({ store, snapshot: { repo, commit: C1, files: [a, b2] } });
		expect(compareSnapshot({ store, repo, commit: C1, files: merged })).toBe("same");
	});

	it("drops an old file where a new folder of the same name is, as commitSnapshot does", async () => {
		const store = await newStore();
		const x = await storeFile(store, "x", "x");
		const keep = await storeFile(store, "keep", "k");
		const inX = await storeFile(store, "x/y", "y");
		await commitSnapshot({ store, snapshot: { repo, commit: C1, files: [x, keep] } });
		const merged = mergeSnapshotFiles({ store, repo, commit: C1, files: [inX] });
		expect(merged.map((f) => f.path)).toEqual(["keep", "x/y"]);
		await commitSnapshot({ store, snapshot: { repo, commit: C1, files: [inX] } });
		expect(compareSnapshot({ store, repo, commit: C1, files: merged })).toBe("same");
	});
});
