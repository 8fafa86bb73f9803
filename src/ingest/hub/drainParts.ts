import { InterruptedError } from "../../errors.js";
import type { BlobWriter } from "../../store/objects/BlobWriter.js";
import type { FilePart, PartFlow } from "./PartTypes.js";

export interface DrainPartsParams {
	/** The file's parts in order (planParts), none started. */
	parts: FilePart[];
	/** Receives every part's bytes, in order. */
	writer: BlobWriter;
	/**
	 * Parts fetched at once; none starts more than this many ahead of the part
	 * being written, so about `maxParts` parts wait in memory at most.
	 * @default 4
	 */
	maxParts?: number;
	/** Ctrl-C: stops every part; drainParts then rejects with InterruptedError. */
	signal?: AbortSignal;
	/**
	 * Fetches one part into its queue (streamPart), calling `flow.poke()` when
	 * it queues bytes and stopping while `flow.mustWait()`. Resolves once the
	 * part has all its bytes; `signal` aborts when another part failed.
	 */
	fetchPart: (part: FilePart, flow: PartFlow, signal: AbortSignal) => Promise<void>;
}

/**
 * Bytes the part being written may hold before its fetch waits for the
 * writer; the parts after it wait in memory whole (bounded by partSize).
 */
const HEAD_BUFFER = 8 * 1024 * 1024;

/**
 * Runs the fetches of a file's parts and hands their bytes to the writer in
 * file order as they arrive: the part at the write position streams into
 * the writer while up to `maxParts - 1` parts after it fill memory, so a
 * fast link is filled with one file and a killed run leaves a clean prefix
 * to resume from. The first failure stops the other parts and is thrown
 * once they have all stopped.
 */
export async function drainParts(params: DrainPartsParams): Promise<void> {
	const { parts, writer } = params;
	const maxParts = Math.max(1, params.maxParts ?? 4);
	const stop = new AbortController();
	const onOuterAbort = (): void => stop.abort(new InterruptedError());
	if (params.signal?.aborted) onOuterAbort();
	else params.signal?.addEventListener("abort", onOuterAbort, { once: true });
	let head = 0;
	const waiters = new Set<() => void>();
	const poke = (): void => {
		for (const w of waiters) w();
		waiters.clear();
	};
	const changed = (): Promise<void> => new Promise((resolve) => waiters.add(resolve));
	const flowOf = (part: FilePart): PartFlow => ({
		mustWait: () => parts[head] === part && part.queuedBytes > HEAD_BUFFER && !stop.signal.aborted,
		changed,
		poke,
	});

	let failure: unknown = null;
	const fail = (err: unknown): void => {
		if (failure === null) failure = err;
		stop.abort(err);
		poke();
	};
	const tasks = new Set<Promise<void>>();
	let next = 0;
	// Start parts in order, never more than `maxParts` ahead of the write position.
	const startMore = (): void => {
		while (failure === null && next < parts.length && tasks.size < maxParts && next < head + maxParts) {
			const part = parts[next++];
			const t: Promise<void> = params
				.fetchPart(part, flowOf(part), stop.signal)
				.then(() => {
					part.done = true;
				})
				.catch(fail)
				.finally(() => {
					tasks.delete(t);
					poke();
				});
			tasks.add(t);
		}
	};
	try {
		while (head < parts.length && failure === null) {
			startMore();
			const part = parts[head];
			const q = part.queue.shift();
			if (q) {
				part.queuedBytes -= q.data.byteLength;
				poke();
				await writer.writeShared(q.data, q.release);
				continue;
			}
			if (part.done) {
				head++;
				continue;
			}
			await changed();
		}
	} catch (err) {
		fail(err);
	} finally {
		params.signal?.removeEventListener("abort", onOuterAbort);
	}
	await Promise.all(tasks);
	if (failure !== null) throw failure;
}
