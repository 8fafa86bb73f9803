import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { describe, expect, it } from "vitest";
import { HashPool } from "../../src/hash/HashPool.js";
import { tempDir } from "../store/storeFixtures.js";

describe("HashPool", () => {
	for (const size of [1, 2]) {
		it(`streams chunks into a file with the right digests (${size} worker${size > 1 ? "s: sha256 split off" : ""}), resuming a partial file`, async () => {
			const pool = new HashPool(size);
			const dir = tempDir();
			const data = randomBytes((5 << 20) + 123);
			const path = join(dir, "out");
			writeFileSync(path, data.subarray(0, 1_000_001));
			const s = await pool.openStream({ path, size: data.length, sha256: true, resume: true });
			expect(s.split).toBe(size > 1);
			expect(s.resumedBytes).toBe(1_000_001);
			for (let off = s.resumedBytes; off < data.length; off += 1 << 20) {
				const chunk = new Uint8Array(new SharedArrayBuffer(Math.min(1 << 20, data.length - off)));
				chunk.set(data.subarray(off, off + chunk.length));
				await s.send(off % (2 << 20) === 0 ? chunk : Uint8Array.from(chunk));
			}
			const r = await s.finish();
			expect(r).toEqual({
				blake3: new Blake3Hasher().update(data).digest("hex"),
				sha256: createHash("sha256").update(data).digest("hex"),
				sha1: createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex"),
				size: data.length,
			});
			expect(readFileSync(path).equals(data)).toBe(true);
		});
	}

	it("runs file hashes in parallel up to its size and reports progress", async () => {
		const pool = new HashPool(2);
		const dir = tempDir();
		const datas = [randomBytes(3 << 20), randomBytes(1 << 20), randomBytes(10)];
		datas.forEach((d, i) => writeFileSync(join(dir, String(i)), d));
		let progressed = 0;
		const rs = await Promise.all(datas.map((_, i) => pool.runFile({ path: join(dir, String(i)), sha256: true, sha1: false, onProgress: (b) => (progressed += b) })));
		rs.forEach((r, i) => expect(r.sha256).toBe(createHash("sha256").update(datas[i]).digest("hex")));
		expect(progressed).toBe(datas.reduce((n, d) => n + d.length, 0));
	});
});
