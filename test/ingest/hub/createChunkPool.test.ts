import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, statfsSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { allocateSharedChunks } from "../../../src/hash/allocateSharedChunks.js";
import { createChunkPool } from "../../../src/ingest/hub/createChunkPool.js";

const MiB = 1024 * 1024;

/** ext2/3/4, XFS, btrfs, f2fs: where O_DIRECT writes go to the device (and demand aligned memory). */
const DIRECT_FS = new Set([0xef53, 0x58465342, 0x9123683e, 0xf2f52010]);
const tmpOnDisk = DIRECT_FS.has(Number(statfsSync(tmpdir()).type));

/** Opens a new file under os.tmpdir() with O_DIRECT; closed and removed when the test ends. */
function openDirect(): { fd: number; path: string } {
	const dir = mkdtempSync(join(tmpdir(), "modelfs-direct-"));
	const path = join(dir, "f");
	const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT, 0o644);
	onTestFinished(() => {
		closeSync(fd);
		rmSync(dir, { recursive: true, force: true });
	});
	return { fd, path };
}

describe("createChunkPool", () => {
	it("hands out 4 MiB views of shared memory by default", () => {
		const pool = createChunkPool();
		expect(pool.chunkSize).toBe(4 * MiB);
		const c = pool.take();
		expect(c).toBeInstanceOf(Uint8Array);
		expect(c.byteLength).toBe(4 * MiB);
		expect(c.buffer).toBeInstanceOf(SharedArrayBuffer);
		expect(c.byteOffset % (4 * MiB)).toBe(0);
	});

	it("allocates `grow` chunks at a time, all distinct, and more when they are all out", () => {
		const pool = createChunkPool({ chunkSize: 64 * 1024, grow: 3 });
		const taken = Array.from({ length: 4 }, () => pool.take());
		expect(new Set(taken).size).toBe(4);
		// The first three share one allocation; the fourth needed another.
		expect(taken[1].buffer).toBe(taken[0].buffer);
		expect(taken[2].buffer).toBe(taken[0].buffer);
		expect(taken[3].buffer).not.toBe(taken[0].buffer);
		// Distinct chunks of one allocation do not overlap.
		const offsets = taken
			.slice(0, 3)
			.map((c) => c.byteOffset)
			.sort((a, b) => a - b);
		expect(offsets).toEqual([0, 64 * 1024, 128 * 1024]);
	});

	it("reuses a chunk after give()", () => {
		const pool = createChunkPool({ chunkSize: 64 * 1024, grow: 1 });
		const a = pool.take();
		a[0] = 42;
		pool.give(a);
		const b = pool.take();
		expect(b).toBe(a);
		// Given once more by mistake: still handed out only once.
		pool.give(b);
		pool.give(b);
		const c = pool.take();
		const d = pool.take();
		expect(c).toBe(a);
		expect(d).not.toBe(a);
	});

	it("refuses a chunk it did not hand out", () => {
		const pool = createChunkPool({ chunkSize: 64 * 1024 });
		const other = createChunkPool({ chunkSize: 64 * 1024 });
		const mine = pool.take();
		expect(() => pool.give(new Uint8Array(64 * 1024))).toThrow(TypeError);
		expect(() => pool.give(other.take())).toThrow(TypeError);
		// A view of its own chunk is not the chunk.
		expect(() => pool.give(mine.subarray(0, 100))).toThrow(TypeError);
		pool.give(mine);
	});
});

describe("allocateSharedChunks", () => {
	it("checks its arguments", () => {
		expect(() => allocateSharedChunks({ count: 0, size: 64 * 1024 })).toThrow(TypeError);
		expect(() => allocateSharedChunks({ count: 1, size: 1000 })).toThrow(TypeError);
		expect(() => allocateSharedChunks({ count: 1, size: 96 * 1024 })).toThrow(TypeError);
		expect(allocateSharedChunks({ count: 2, size: 128 * 1024 }).map((c) => c.byteLength)).toEqual([128 * 1024, 128 * 1024]);
	});

	it.runIf(tmpOnDisk)("gives memory aligned for O_DIRECT: every chunk is written as it is, a misaligned view is refused", () => {
		const { fd, path } = openDirect();
		const chunks = allocateSharedChunks({ count: 4, size: 4 * MiB });
		chunks.forEach((c, i) => c.fill(i + 1));
		chunks.forEach((c, i) => expect(writeSync(fd, c, 0, c.byteLength, i * 4 * MiB)).toBe(4 * MiB));
		const back = readFileSync(path);
		expect(back.length).toBe(16 * MiB);
		for (let i = 0; i < 4; i++) expect(back.subarray(i * 4 * MiB, (i + 1) * 4 * MiB).every((b) => b === i + 1)).toBe(true);
		// The same memory one byte off: the kernel refuses it, so the writes above
		// did go through O_DIRECT's alignment check (an odd address fails it on
		// every block device; 16 bytes off passes on devices that only need 4-byte
		// DMA alignment, such as NVMe).
		const off = new Uint8Array(chunks[0].buffer, chunks[0].byteOffset + 1, MiB);
		expect(() => writeSync(fd, off, 0, MiB, 0)).toThrow(expect.objectContaining({ code: "EINVAL" }));
	});

	it.runIf(tmpOnDisk)("pool chunks, taken and given back, stay writable with O_DIRECT", () => {
		const { fd, path } = openDirect();
		const pool = createChunkPool({ grow: 2 });
		const a = pool.take();
		pool.give(a);
		const chunks = [pool.take(), pool.take(), pool.take()];
		chunks.forEach((c, i) => {
			c.fill(0x10 + i);
			expect(writeSync(fd, c, 0, c.byteLength, i * c.byteLength)).toBe(c.byteLength);
		});
		const back = readFileSync(path);
		expect(back.length).toBe(12 * MiB);
		expect([back[0], back[4 * MiB], back[8 * MiB], back[12 * MiB - 1]]).toEqual([0x10, 0x11, 0x12, 0x12]);
	});
});
