import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statfsSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { describe, expect, it, onTestFinished } from "vitest";
import { findBlob } from "../../../src/store/index/findBlob.js";
import { blobPath } from "../../../src/store/objects/blobPath.js";
import { putFile } from "../../../src/store/objects/putFile.js";
import { openStore } from "../../../src/store/openStore.js";
import { canMount } from "../../support/canMount.js";
import { startChild } from "../childProcess.js";
import { newStore, tempDir } from "../storeFixtures.js";

const b3 = (d: Buffer) => new Blake3Hasher().update(d).digest("hex");
const sha256 = (d: Buffer) => createHash("sha256").update(d).digest("hex");

describe("putFile", () => {
	it("stores the file read-only under objects/<2>/<64> and indexes it with its aliases", async () => {
		const store = await newStore();
		const data = randomBytes(100_000);
		const src = join(tempDir(), "f");
		writeFileSync(src, data);
		const r = await putFile({ store, path: src });
		expect(r.blake3).toBe(b3(data));
		expect(r.sha256).toBe(sha256(data));
		const path = blobPath(store.dir, r.blake3);
		expect(path).toBe(join(store.dir, "objects", r.blake3.slice(0, 2), r.blake3));
		expect(readFileSync(path).equals(data)).toBe(true);
		expect(statSync(path).mode & 0o777).toBe(0o444);
		expect(findBlob({ store, blake3: r.blake3 })).toMatchObject({ size: data.length, sha256: r.sha256 });
		expect(findBlob({ store, sha256: r.sha256 })?.blake3).toBe(r.blake3);
		expect(findBlob({ store, sha1: r.sha1 as string })?.blake3).toBe(r.blake3);
		expect(findBlob({ store, sha256: "0".repeat(64) })).toBeNull();
		expect(readdirSync(join(store.dir, "tmp"))).toEqual([]);
		// The source is untouched.
		expect(statSync(src).mode & 0o777).not.toBe(0o444);
	});

	it("stores nothing when the content does not match expect", async () => {
		const store = await newStore();
		const src = join(tempDir(), "f");
		writeFileSync(src, "actual content");
		await expect(putFile({ store, path: src, expect: { sha256: "a".repeat(64) } })).rejects.toMatchObject({ code: "STORE_HASH_MISMATCH" });
		await expect(putFile({ store, path: src, expect: { size: 3 } })).rejects.toMatchObject({ code: "STORE_HASH_MISMATCH" });
		expect(readdirSync(join(store.dir, "tmp"))).toEqual([]);
		expect(readdirSync(join(store.dir, "objects"))).toEqual([]);
		expect(store.index!.blobs.getCount()).toBe(0);
	});

	it("keeps an existing object as it is when the same content comes again", async () => {
		const store = await newStore();
		const dir = tempDir();
		writeFileSync(join(dir, "a"), "same bytes");
		writeFileSync(join(dir, "b"), "same bytes");
		const r1 = await putFile({ store, path: join(dir, "a") });
		const ino = statSync(blobPath(store.dir, r1.blake3)).ino;
		const r2 = await putFile({ store, path: join(dir, "b") });
		expect(r2.blake3).toBe(r1.blake3);
		expect(statSync(blobPath(store.dir, r1.blake3)).ino).toBe(ino);
		expect(readdirSync(join(store.dir, "tmp"))).toEqual([]);
	});

	it("handles many concurrent writes of one blob in one process", async () => {
		const store = await newStore();
		const data = randomBytes(3 << 20);
		const dir = tempDir();
		for (let i = 0; i < 6; i++) writeFileSync(join(dir, `f${i}`), data);
		const rs = await Promise.all(Array.from({ length: 6 }, (_, i) => putFile({ store, path: join(dir, `f${i}`) })));
		expect(new Set(rs.map((r) => r.blake3)).size).toBe(1);
		expect(readdirSync(join(store.dir, "objects", rs[0].blake3.slice(0, 2)))).toEqual([rs[0].blake3]);
		expect(readFileSync(blobPath(store.dir, rs[0].blake3)).equals(data)).toBe(true);
	});

	it("several real processes writing the same blob leave one correct object and no tmp files", async () => {
		const dir = tempDir();
		const storeDir = join(dir, "store");
		await (await openStore({ storeDir, create: true })).close();
		const data = randomBytes(4 << 20);
		writeFileSync(join(dir, "src"), data);
		const children = Array.from({ length: 4 }, (_, i) => startChild([i % 2 ? "put" : "stream", storeDir, join(dir, "src"), `race${i}`, String(data.length)]));
		const outs = await Promise.all(children.map((c) => c.stdout));
		const expected = b3(data);
		for (const o of outs) expect(o.trim()).toBe(expected);
		expect(readdirSync(join(storeDir, "objects", expected.slice(0, 2)))).toEqual([expected]);
		expect(b3(readFileSync(blobPath(storeDir, expected)))).toBe(expected);
		expect(readdirSync(join(storeDir, "tmp"))).toEqual([]);
		const store = await openStore({ storeDir });
		expect(findBlob({ store, sha256: sha256(data) })?.blake3).toBe(expected);
		await store.close();
	});

	it("refuses a store opened read-only", async () => {
		const store = await newStore();
		const reader = await openStore({ storeDir: store.dir });
		const src = join(tempDir(), "f");
		writeFileSync(src, "x");
		await expect(putFile({ store: reader, path: src })).rejects.toMatchObject({ code: "INDEX_READ_ONLY" });
		await reader.close();
	});
});

const hasMkfsXfs = spawnSync("sh", ["-c", "command -v mkfs.xfs"]).status === 0;

// CI (MODELFS_REQUIRE_FUSE=1) installs xfsprogs and must run this test.
describe.runIf(canMount && (hasMkfsXfs || process.env.MODELFS_REQUIRE_FUSE === "1"))("putFile on a filesystem with reflinks (XFS)", () => {
	it("clones instead of copying, and the object still has the right bytes and digests", async () => {
		const dir = tempDir();
		const image = join(dir, "xfs.img");
		writeFileSync(image, "");
		truncateSync(image, 512 << 20);
		expect(spawnSync("mkfs.xfs", ["-q", "-m", "reflink=1", image]).status).toBe(0);
		const mnt = join(dir, "mnt");
		mkdirSync(mnt);
		const m = spawnSync("mount", ["-o", "loop", image, mnt], { encoding: "utf8" });
		expect(m.status, m.stderr).toBe(0);
		onTestFinished(() => {
			spawnSync("umount", [mnt]);
		});
		const data = randomBytes(64 << 20);
		writeFileSync(join(mnt, "src"), data);
		const store = await openStore({ storeDir: join(mnt, "store"), create: true });
		onTestFinished(() => store.close());
		const before = statfsSync(mnt);
		const r = await putFile({ store, path: join(mnt, "src") });
		const after = statfsSync(mnt);
		expect(r.blake3).toBe(b3(data));
		expect(r.sha256).toBe(sha256(data));
		expect(readFileSync(blobPath(store.dir, r.blake3)).equals(data)).toBe(true);
		// A copy would take 64 MiB more; a clone shares the extents.
		expect((before.bfree - after.bfree) * before.bsize).toBeLessThan(16 << 20);
		expect(readFileSync(join(mnt, "src")).equals(data)).toBe(true);
	});
});
