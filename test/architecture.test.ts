import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./support/runCli.js";

/**
 * The boundaries the import graph cannot show (.dependency-cruiser.cjs
 * checks the imports): who touches the LMDB env through a Store, and who
 * opens /dev/fuse.
 */
function sources(dir: string): string[] {
	return readdirSync(dir).flatMap((name) => {
		const p = join(dir, name);
		return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
	});
}

const src = sources(join(repoRoot, "src")).map((p) => ({ path: relative(repoRoot, p), text: readFileSync(p, "utf8") }));

describe("architecture", () => {
	it("leaves the LMDB index (store.index) to src/store/", () => {
		const offenders = src.filter((f) => !f.path.startsWith("src/store/") && /\bstore\.index\b|\.index\?\.(get|snapshots|repos|blobs)/.test(f.text)).map((f) => f.path);
		expect(offenders).toEqual([]);
	});

	it("leaves /dev/fuse to native/: TypeScript only checks that it is there", () => {
		const offenders = src.filter((f) => /\bopen(Sync)?\(\s*["']\/dev\/fuse/.test(f.text)).map((f) => f.path);
		expect(offenders).toEqual([]);
	});
});
