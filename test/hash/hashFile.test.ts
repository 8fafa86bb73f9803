import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { describe, expect, it } from "vitest";
import { hashFile } from "../../src/hash/hashFile.js";
import { tempDir } from "../store/storeFixtures.js";

function reference(data: Buffer) {
	return {
		blake3: new Blake3Hasher().update(data).digest("hex"),
		sha256: createHash("sha256").update(data).digest("hex"),
		sha1: createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex"),
		size: data.length,
	};
}

describe("hashFile", () => {
	it("computes BLAKE3, sha256 and git sha1 in one pass, across chunk boundaries", async () => {
		const dir = tempDir();
		for (const size of [0, 1, (8 << 20) + 3]) {
			const data = randomBytes(size);
			const path = join(dir, `f${size}`);
			writeFileSync(path, data);
			expect(await hashFile({ path, sha1: true })).toEqual(reference(data));
		}
	});

	it("gives sha1 null unless asked for it", async () => {
		const path = join(tempDir(), "f");
		writeFileSync(path, "abc");
		const r = await hashFile({ path });
		expect(r.sha1).toBeNull();
		expect(r.sha256).toBe(createHash("sha256").update("abc").digest("hex"));
	});

	it("the git sha1 equals `git hash-object`'s for a known text", async () => {
		const path = join(tempDir(), "hello");
		writeFileSync(path, "hello world\n");
		// `printf 'hello world\n' | git hash-object --stdin`
		expect((await hashFile({ path, sha1: true })).sha1).toBe("3b18e512dba79e4c8300dd08aeb37f8e728b8dad");
	});

	it("hashes several files at once with correct results for each", async () => {
		const dir = tempDir();
		const datas = Array.from({ length: 6 }, (_, i) => randomBytes(1 << (16 + i)));
		datas.forEach((d, i) => writeFileSync(join(dir, `f${i}`), d));
		const results = await Promise.all(datas.map((_, i) => hashFile({ path: join(dir, `f${i}`), sha1: true })));
		results.forEach((r, i) => expect(r).toEqual(reference(datas[i])));
	});

	it("rejects with ENOENT for a missing file", async () => {
		await expect(hashFile({ path: join(tempDir(), "nope") })).rejects.toMatchObject({ code: "ENOENT" });
	});

	it("stops when the signal aborts", async () => {
		const path = join(tempDir(), "big");
		writeFileSync(path, Buffer.alloc(64 << 20));
		const ac = new AbortController();
		ac.abort();
		await expect(hashFile({ path, signal: ac.signal })).rejects.toMatchObject({ name: "AbortError" });
	});

	it("rejects a missing path argument with a TypeError", async () => {
		await expect(hashFile({ path: "" })).rejects.toBeInstanceOf(TypeError);
	});
});
