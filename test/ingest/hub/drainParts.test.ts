import { readFileSync } from "node:fs";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { describe, expect, it } from "vitest";
import { drainParts } from "../../../src/ingest/hub/drainParts.js";
import type { FilePart, PartFlow } from "../../../src/ingest/hub/PartTypes.js";
import { planParts } from "../../../src/ingest/hub/planParts.js";
import { blobPath } from "../../../src/store/objects/blobPath.js";
import { createBlobWriter } from "../../../src/store/objects/createBlobWriter.js";
import { newStore } from "../../store/storeFixtures.js";

const KiB = 1024;
const SIZE = 10 * 64 * KiB + 17;
const data = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) data[i] = (i * 7 + (i >> 9)) & 255;
const blake3 = (b: Buffer): string => new Blake3Hasher().update(b).digest("hex");

function partsOf(partSize: number): FilePart[] {
	return planParts({ from: 0, size: SIZE, partSize, parts: 4 }).map((r) => ({ ...r, received: 0, queue: [], queuedBytes: 0, done: false }));
}

/** Queues the part's bytes in pieces of `piece`, as streamPart does, after `delayMs`. */
async function fill(part: FilePart, flow: PartFlow, delayMs: number, piece = 10_000): Promise<void> {
	await new Promise((r) => setTimeout(r, delayMs));
	for (let off = part.start; off < part.end; off += piece) {
		const chunk = data.subarray(off, Math.min(off + piece, part.end));
		part.queue.push({ data: chunk, release: () => undefined });
		part.queuedBytes += chunk.byteLength;
		part.received += chunk.byteLength;
		flow.poke();
	}
}

describe("drainParts", () => {
	it("hands the parts to the writer in file order when later parts arrive first, at most maxParts at once", async () => {
		const store = await newStore();
		const writer = await createBlobWriter({ store, size: SIZE });
		const parts = partsOf(64 * KiB);
		let running = 0;
		let most = 0;
		const started: number[] = [];
		await drainParts({
			parts,
			writer,
			maxParts: 3,
			fetchPart: async (part, flow) => {
				started.push(parts.indexOf(part));
				most = Math.max(most, ++running);
				// The first part of every three is the slowest.
				await fill(part, flow, parts.indexOf(part) % 3 === 0 ? 40 : 1);
				running--;
			},
		});
		const blob = await writer.commit({ size: SIZE });
		expect(blob.blake3).toBe(blake3(data));
		expect(readFileSync(blobPath(store.dir, blob.blake3)).equals(data)).toBe(true);
		expect(started).toEqual(parts.map((_p, i) => i));
		expect(most).toBe(3);
		expect(parts.every((p) => p.done && p.queue.length === 0)).toBe(true);
	});

	it("stops the other parts on the first failure and rejects with it once they have stopped", async () => {
		const store = await newStore();
		const writer = await createBlobWriter({ store, size: SIZE });
		const parts = partsOf(64 * KiB);
		const boom = new Error("part 1 failed");
		const stopped: number[] = [];
		const err = await drainParts({
			parts,
			writer,
			maxParts: 4,
			fetchPart: async (part, _flow, signal) => {
				const i = parts.indexOf(part);
				if (i === 1) throw boom;
				await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
				stopped.push(i);
			},
		}).catch((e: unknown) => e);
		await writer.abort();
		expect(err).toBe(boom);
		expect(stopped.sort()).toEqual([0, 2, 3]);
	});

	it("rejects with InterruptedError when its signal aborts", async () => {
		const store = await newStore();
		const writer = await createBlobWriter({ store, size: SIZE });
		const ctl = new AbortController();
		const err = await drainParts({
			parts: partsOf(64 * KiB),
			writer,
			signal: ctl.signal,
			fetchPart: (_part, _flow, signal) => {
				setTimeout(() => ctl.abort(), 5);
				return new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
			},
		}).catch((e: unknown) => e);
		await writer.abort();
		expect(err).toMatchObject({ code: "INTERRUPTED" });
	});
});
