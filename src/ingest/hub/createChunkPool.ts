import { allocateSharedChunks } from "../../hash/allocateSharedChunks.js";

/** Download memory: equal chunks of shared memory, reused once the hash workers are done with them. */
export interface ChunkPool {
	readonly chunkSize: number;
	/** A whole chunk, reused or new. */
	take(): Uint8Array;
	/** Gives back a chunk that take() returned (the same object). */
	give(chunk: Uint8Array): void;
}

export interface CreateChunkPoolParams {
	/** @default 4 MiB, the hash workers' batch */
	chunkSize?: number;
	/** Chunks allocated at once when none is free. @default 8 */
	grow?: number;
}

/**
 * Shared memory, so a received chunk goes to both hash workers where it
 * is, without a copy; page-aligned, so the worker can write it with
 * O_DIRECT (allocateSharedChunks); reused, because faulting in fresh memory
 * for every chunk costs about as much CPU as copying it (measured: 1.44 vs
 * 0.08 CPU-s per GiB into fresh vs recycled 4 MiB buffers). The pool holds
 * what it allocated until it is dropped: at most what the downloads of a
 * run had in flight at once.
 */
export function createChunkPool(params: CreateChunkPoolParams = {}): ChunkPool {
	const chunkSize = params.chunkSize ?? 4 << 20;
	const grow = params.grow ?? 8;
	const free: Uint8Array[] = [];
	const ours = new WeakSet<Uint8Array>();
	return {
		chunkSize,
		take() {
			if (free.length === 0) {
				for (const c of allocateSharedChunks({ count: grow, size: chunkSize })) {
					ours.add(c);
					free.push(c);
				}
			}
			return free.pop() as Uint8Array;
		},
		give(chunk) {
			if (!ours.has(chunk)) throw new TypeError("ChunkPool.give: not a chunk of this pool");
			if (!free.includes(chunk)) free.push(chunk);
		},
	};
}
