import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { describe, expect, it } from "vitest";
import { findBlob } from "../../../src/store/index/findBlob.js";
import { blobPath } from "../../../src/store/objects/blobPath.js";
import { createBlobWriter } from "../../../src/store/objects/createBlobWriter.js";
import { newStore } from "../storeFixtures.js";

const b3 = (d: Buffer) => new Blake3Hasher().update(d).digest("hex");
const sha256 = (d: Buffer) => createHash("sha256").update(d).digest("hex");
const gitSha1 = (d: Buffer) => createHash("sha1").update(`blob ${d.length}\0`).update(d).digest("hex");

async function writeIn(w: { write(c: Uint8Array): Promise<void> }, data: Buffer, step = 100_003): Promise<void> {
	for (let off = 0; off < data.length; off += step) await w.write(data.subarray(off, Math.min(off + step, data.length)));
}

describe("createBlobWriter", () => {
	it("streams a blob in, hashing BLAKE3, sha256 and (with size) git sha1 on the way", async () => {
		const store = await newStore();
		const data = randomBytes((9 << 20) + 17);
		const w = await createBlobWriter({ store, size: data.length });
		expect(w.resumedBytes).toBe(0);
		await writeIn(w, data);
		const r = await w.commit({ size: data.length, sha256: sha256(data), sha1: gitSha1(data) });
		expect(r).toMatchObject({ blake3: b3(data), sha256: sha256(data), sha1: gitSha1(data), size: data.length });
		expect(readFileSync(blobPath(store.dir, r.blake3)).equals(data)).toBe(true);
		expect(findBlob({ store, sha1: gitSha1(data) })?.blake3).toBe(r.blake3);
		expect(readdirSync(join(store.dir, "tmp"))).toEqual([]);
	});

	it("computes no sha1 when the size is not known up front", async () => {
		const store = await newStore();
		const w = await createBlobWriter({ store });
		await w.write(Buffer.from("abc"));
		expect((await w.commit()).sha1).toBeNull();
	});

	it("resumes a partial download kept by abort, continuing the hashes", async () => {
		const store = await newStore();
		const data = randomBytes(5 << 20);
		const key = sha256(data);
		const w1 = await createBlobWriter({ store, resumeKey: key, size: data.length });
		await writeIn(w1, data.subarray(0, 3 << 20));
		await w1.abort({ keepPartial: true });
		expect(existsSync(join(store.dir, "tmp", `partial-${key}`))).toBe(true);
		const w2 = await createBlobWriter({ store, resumeKey: key, size: data.length });
		expect(w2.resumedBytes).toBe(3 << 20);
		await writeIn(w2, data.subarray(w2.resumedBytes));
		const r = await w2.commit({ size: data.length, sha256: key, sha1: gitSha1(data) });
		expect(r.blake3).toBe(b3(data));
		expect(existsSync(join(store.dir, "tmp", `partial-${key}`))).toBe(false);
	});

	it("continues from a partial file left by a crash (seeded truncated file)", async () => {
		const store = await newStore();
		const data = randomBytes(2 << 20);
		// What a killed process leaves: a prefix of the file under its resume name.
		writeFileSync(join(store.dir, "tmp", "partial-crashed"), data.subarray(0, 777_777));
		const w = await createBlobWriter({ store, resumeKey: "crashed", size: data.length });
		expect(w.resumedBytes).toBe(777_777);
		await writeIn(w, data.subarray(w.resumedBytes));
		expect((await w.commit({ sha256: sha256(data) })).blake3).toBe(b3(data));
	});

	it("throws STORE_HASH_MISMATCH and keeps nothing when the digest is wrong", async () => {
		const store = await newStore();
		const w = await createBlobWriter({ store, resumeKey: "bad", size: 5 });
		await w.write(Buffer.from("hello"));
		await expect(w.commit({ sha256: "f".repeat(64) })).rejects.toMatchObject({ code: "STORE_HASH_MISMATCH" });
		expect(readdirSync(join(store.dir, "tmp"))).toEqual([]);
		expect(store.index!.blobs.getCount()).toBe(0);
	});

	it("abort without keepPartial removes the tmp file", async () => {
		const store = await newStore();
		const w = await createBlobWriter({ store, resumeKey: "gone" });
		await w.write(Buffer.from("part"));
		await w.abort();
		expect(readdirSync(join(store.dir, "tmp"))).toEqual([]);
	});

	it("refuses a second writer on the same partial file in this process", async () => {
		const store = await newStore();
		const w = await createBlobWriter({ store, resumeKey: "same" });
		await expect(createBlobWriter({ store, resumeKey: "same" })).rejects.toMatchObject({ code: "STORE_PARTIAL_BUSY" });
		await w.abort({ keepPartial: true });
		const again = await createBlobWriter({ store, resumeKey: "same" });
		await again.abort();
	});

	it("rejects a resume key that could escape tmp/", async () => {
		const store = await newStore();
		await expect(createBlobWriter({ store, resumeKey: "../x" })).rejects.toBeInstanceOf(TypeError);
	});
});
