import { createHash, randomBytes } from "node:crypto";
import { constants, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statfsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { describe, expect, it, onTestFinished } from "vitest";
import { type ChunkPool, createChunkPool } from "../../../src/ingest/hub/createChunkPool.js";
import type { BlobWriter } from "../../../src/store/objects/BlobWriter.js";
import { blobPath } from "../../../src/store/objects/blobPath.js";
import { createBlobWriter } from "../../../src/store/objects/createBlobWriter.js";
import { openStore } from "../../../src/store/openStore.js";
import type { Store } from "../../../src/store/Store.js";

const MiB = 1024 * 1024;
const CHUNK = 4 * MiB;

const b3 = (d: Buffer): string => new Blake3Hasher().update(d).digest("hex");
const sha256 = (d: Buffer): string => createHash("sha256").update(d).digest("hex");

/** ext2/3/4, XFS, btrfs, f2fs: where createBlobWriter writes with O_DIRECT by default. */
const DIRECT_FS = new Set([0xef53, 0x58465342, 0x9123683e, 0xf2f52010]);
const TMPFS = 0x01021994;
const fsType = (dir: string): number => {
	try {
		return Number(statfsSync(dir).type);
	} catch {
		return -1;
	}
};
const diskDir = tmpdir();
const onDisk = DIRECT_FS.has(fsType(diskDir));
const shmDir = "/dev/shm";
const onTmpfs = fsType(shmDir) === TMPFS;

/** A new store under `base`, closed and removed when the test ends. */
async function storeUnder(base: string): Promise<Store> {
	const dir = mkdtempSync(join(base, "modelfs-direct-"));
	onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
	const store = await openStore({ storeDir: join(dir, "store"), create: true });
	onTestFinished(() => store.close());
	return store;
}

/** open(2) flags of this process's file descriptors on files in the store's tmp/ (the hash workers share the fd table). */
function tmpFileFlags(store: Store): number[] {
	const tmp = `${join(store.dir, "tmp")}/`;
	const flags: number[] = [];
	for (const fd of readdirSync("/proc/self/fd")) {
		let target: string;
		try {
			target = readlinkSync(`/proc/self/fd/${fd}`);
		} catch {
			continue;
		}
		if (!target.startsWith(tmp)) continue;
		const m = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"));
		if (m) flags.push(Number.parseInt(m[1], 8));
	}
	return flags;
}
const hasDirectFd = (store: Store): boolean => tmpFileFlags(store).some((f) => (f & constants.O_DIRECT) !== 0);

/** A plain write() of `n` bytes, or a writeShared() of a pool chunk holding `n` (at most a chunk). */
type Step = { plain: number } | { shared: number };

/**
 * Feeds the steps to the writer with fresh random bytes and returns them.
 * A plain chunk is overwritten right after write() (which copies), a shared
 * one as soon as it is released, as the pool's next taker would: release
 * must come only after the bytes are written and hashed.
 */
async function feed(w: BlobWriter, pool: ChunkPool, steps: Step[]): Promise<{ bytes: Buffer; released: () => number }> {
	const out: Buffer[] = [];
	let released = 0;
	for (const step of steps) {
		if ("plain" in step) {
			const data = randomBytes(step.plain);
			out.push(Buffer.from(data));
			await w.write(data);
			data.fill(0xee);
			continue;
		}
		const chunk = pool.take();
		const view = step.shared === chunk.byteLength ? chunk : chunk.subarray(0, step.shared);
		const data = randomBytes(step.shared);
		view.set(data);
		out.push(data);
		await w.writeShared(view, () => {
			chunk.fill(0xee);
			released++;
			pool.give(chunk);
		});
	}
	return { bytes: Buffer.concat(out), released: () => released };
}

/** Aligned and misaligned file positions, odd lengths, both kinds of write, in one blob. */
const MIXED: Step[] = [
	{ shared: CHUNK },
	{ shared: CHUNK },
	{ plain: 12345 },
	{ shared: CHUNK },
	{ plain: 1 },
	{ shared: CHUNK - 3 },
	{ plain: CHUNK + 1 },
	{ shared: CHUNK },
	{ plain: 4096 },
	{ shared: 8192 },
	{ plain: 1 },
];

async function writeAndCheck(store: Store, direct: boolean | undefined, expectDirect: boolean): Promise<void> {
	const pool = createChunkPool();
	const w = await createBlobWriter({ store, direct, size: MIXED.reduce((n, s) => n + ("plain" in s ? s.plain : s.shared), 0) });
	const { bytes, released } = await feed(w, pool, MIXED);
	expect(hasDirectFd(store)).toBe(expectDirect);
	const r = await w.commit({ size: bytes.length, sha256: sha256(bytes) });
	expect(r.size).toBe(bytes.length);
	expect(r.blake3).toBe(b3(bytes));
	expect(readFileSync(blobPath(store.dir, r.blake3)).equals(bytes)).toBe(true);
	expect(released()).toBe(MIXED.filter((s) => "shared" in s).length);
	expect(readdirSync(join(store.dir, "tmp"))).toEqual([]);
}

async function resumeOddAndCheck(store: Store, direct: boolean | undefined): Promise<void> {
	const pool = createChunkPool();
	const first: Step[] = [{ shared: CHUNK }, { plain: 777 }, { shared: 12345 }, { plain: 3 }];
	const rest: Step[] = [{ shared: CHUNK }, { plain: 5000 }, { shared: CHUNK }, { shared: 4097 }];
	const size = [...first, ...rest].reduce((n, s) => n + ("plain" in s ? s.plain : s.shared), 0);
	const key = `odd-${size}`;
	const w1 = await createBlobWriter({ store, direct, size, resumeKey: key });
	const a = await feed(w1, pool, first);
	await w1.abort({ keepPartial: true });
	const partial = join(store.dir, "tmp", `partial-${key}`);
	expect(statSync(partial).size).toBe(a.bytes.length);
	expect(a.bytes.length % 2).toBe(1);
	expect(readFileSync(partial).equals(a.bytes)).toBe(true);
	const w2 = await createBlobWriter({ store, direct, size, resumeKey: key });
	expect(w2.resumedBytes).toBe(a.bytes.length);
	const b = await feed(w2, pool, rest);
	const all = Buffer.concat([a.bytes, b.bytes]);
	const r = await w2.commit({ size, sha256: sha256(all) });
	expect(r.blake3).toBe(b3(all));
	expect(readFileSync(blobPath(store.dir, r.blake3)).equals(all)).toBe(true);
	expect(existsSync(partial)).toBe(false);
}

describe("createBlobWriter", () => {
	describe.runIf(onDisk)("on a local disk file system (os.tmpdir())", () => {
		it("writes pooled chunks and odd plain chunks, mixed, with O_DIRECT: bytes and BLAKE3 equal the input", async () => {
			await writeAndCheck(await storeUnder(diskDir), true, true);
		});

		it("uses O_DIRECT by default there", async () => {
			const store = await storeUnder(diskDir);
			const w = await createBlobWriter({ store });
			expect(hasDirectFd(store)).toBe(true);
			await w.abort();
		});

		it("writes through the page cache only with direct: false, same bytes", async () => {
			await writeAndCheck(await storeUnder(diskDir), false, false);
		});

		it("continues a partial of odd length kept by abort, byte-identical", async () => {
			await resumeOddAndCheck(await storeUnder(diskDir), true);
		});

		it("continues an odd partial written without O_DIRECT with O_DIRECT, and the other way round", async () => {
			const store = await storeUnder(diskDir);
			const pool = createChunkPool();
			const steps: Step[] = [{ plain: 3 }, { shared: CHUNK }, { plain: 10_001 }];
			const w1 = await createBlobWriter({ store, direct: false, resumeKey: "mixed" });
			const a = await feed(w1, pool, steps);
			await w1.abort({ keepPartial: true });
			const w2 = await createBlobWriter({ store, direct: true, resumeKey: "mixed" });
			const b = await feed(w2, pool, steps);
			await w2.abort({ keepPartial: true });
			const w3 = await createBlobWriter({ store, direct: false, resumeKey: "mixed" });
			const c = await feed(w3, pool, [{ shared: 1 }]);
			const all = Buffer.concat([a.bytes, b.bytes, c.bytes]);
			expect(w3.resumedBytes).toBe(a.bytes.length + b.bytes.length);
			const r = await w3.commit({ sha256: sha256(all) });
			expect(readFileSync(blobPath(store.dir, r.blake3)).equals(all)).toBe(true);
		});
	});

	describe.runIf(onTmpfs)("on tmpfs (/dev/shm)", () => {
		it("writes pooled and odd plain chunks, mixed, without O_DIRECT by default: bytes and BLAKE3 equal the input", async () => {
			await writeAndCheck(await storeUnder(shmDir), undefined, false);
		});

		it("still writes the right bytes when told direct: true", async () => {
			const store = await storeUnder(shmDir);
			const pool = createChunkPool();
			const w = await createBlobWriter({ store, direct: true });
			const { bytes } = await feed(w, pool, MIXED);
			const r = await w.commit({ sha256: sha256(bytes) });
			expect(r.blake3).toBe(b3(bytes));
			expect(readFileSync(blobPath(store.dir, r.blake3)).equals(bytes)).toBe(true);
		});

		it("continues a partial of odd length kept by abort, byte-identical", async () => {
			await resumeOddAndCheck(await storeUnder(shmDir), undefined);
		});
	});

	it("writeShared of memory that is not shared copies it and releases it at once", async () => {
		const store = await storeUnder(diskDir);
		const w = await createBlobWriter({ store });
		const data = randomBytes(100_000);
		let released = 0;
		await w.writeShared(data, () => released++);
		expect(released).toBe(1);
		const r = await w.commit();
		expect(r.blake3).toBe(b3(data));
	});
});
