import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { daemonBinaryPath } from "../../src/mount/daemonBinaryPath.js";
import type { ViewDir } from "../../src/view/ViewTree.js";
import { writeViewImage } from "../../src/view/writeViewImage.js";
import { tempDir } from "./viewFixtures.js";

const tree: ViewDir = {
	kind: "dir",
	name: "",
	children: [
		{
			kind: "dir",
			name: "a",
			children: [
				{ kind: "file", name: "f", size: 3, blake3: "1".repeat(64) },
				{ kind: "symlink", name: "l", target: "f" },
			],
		},
		{ kind: "dir", name: "b", children: [{ kind: "file", name: "main", size: 2, content: "c0" }] },
	],
};

/**
 * Runs the daemon's image loader on `image`: `serve` loads the image first
 * and exits 1 with the reason in its log when it refuses it (a missing
 * state file stops an accepted image right after).
 */
function load(dir: string, image: Buffer): { status: number | null; signal: NodeJS.Signals | null; log: string } {
	const path = join(dir, "img");
	writeFileSync(path, image);
	const r = spawnSync(daemonBinaryPath(), ["serve", "--image", path, "--state", join(dir, "nostate"), "--stats", join(dir, "nostats"), "--fd", "0"], {
		encoding: "utf8",
		stdio: ["ignore", "pipe", "pipe"],
	});
	return { status: r.status, signal: r.signal, log: r.stderr };
}

describe("modelfs-fused view image loader", () => {
	it("accepts a good image and refuses damaged ones with the reason", async () => {
		const dir = tempDir();
		await writeViewImage({ root: tree, objectsDir: dir, path: join(dir, "good") });
		const good = readFileSync(join(dir, "good"));
		const ok = load(dir, good);
		expect(ok.log).not.toMatch(/view image/);
		expect(ok.log).toMatch(/state file/);

		const bad = (mutate: (b: Buffer) => Buffer, reason: RegExp) => {
			const r = load(dir, mutate(Buffer.from(good)));
			expect(r.signal).toBeNull();
			expect(r.status).toBe(1);
			expect(r.log).toMatch(reason);
		};
		bad((b) => (b.write("XXXX", 0), b), /not a version 2 view image/);
		bad((b) => (b.writeUInt32LE(1, 8), b), /not a version 2 view image/);
		bad((b) => b.subarray(0, 100), /too small/);
		bad((b) => b.subarray(0, b.length - 10), /out of bounds/);
		bad((b) => (b.writeUInt32LE(0xffffff, 16), b), /out of bounds/);
		bad((b) => (b.writeBigUInt64LE(3n, 24), b), /out of bounds/);
		// Root's entries swapped: "b" before "a".
		bad((b) => {
			const d = Number(b.readBigUInt64LE(32));
			const first = Buffer.from(b.subarray(d, d + 16));
			b.copy(b, d, d + 16, d + 32);
			first.copy(b, d + 16);
			return b;
		}, /bad entry|not sorted/);
		// Root's mode made a regular file.
		bad((b) => (b.writeUInt32LE(0o100444, Number(b.readBigUInt64LE(24))), b), /nodeid 1 is not the root directory/);
		// Inodes out of nodeid order: the second and third records swapped.
		bad((b) => {
			const o = Number(b.readBigUInt64LE(24)) + 88;
			const second = Buffer.from(b.subarray(o, o + 88));
			b.copy(b, o, o + 88, o + 176);
			second.copy(b, o + 88);
			return b;
		}, /not sorted by nodeid/);
		// A nodeid at or above next_nodeid.
		bad((b) => (b.writeBigUInt64LE(2n, 72), b), /out of range/);
		// An inode that no directory names and that is no orphan.
		bad((b) => {
			const o = Number(b.readBigUInt64LE(24));
			b.writeUInt32LE(0, o + 44); // root: no entries
			return b;
		}, /in no directory/);
	});

	it("never crashes on random damage (seeded byte flips)", async () => {
		const dir = tempDir();
		await writeViewImage({ root: tree, objectsDir: dir, path: join(dir, "good") });
		const good = readFileSync(join(dir, "good"));
		let seed = 12345;
		const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
		for (let i = 0; i < 150; i++) {
			const b = Buffer.from(good);
			for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
			const r = load(dir, b);
			expect(r.signal, `flip set ${i}`).toBeNull();
			expect(r.status, `flip set ${i}: ${r.log}`).toBe(1);
		}
	});
});
