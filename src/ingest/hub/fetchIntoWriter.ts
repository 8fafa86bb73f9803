import { HubError, InterruptedError } from "../../errors.js";
import type { BlobWriter } from "../../store/objects/BlobWriter.js";
import type { BodySink } from "../http/HttpConnection.js";
import { type ChunkPool, createChunkPool } from "./createChunkPool.js";
import type { HubFetch, RangeBody } from "./createHubFetch.js";
import { TransientHubError } from "./TransientHubError.js";
import type { RetryPolicy } from "./withRetries.js";
import { withRetries } from "./withRetries.js";

export interface FetchIntoWriterParams {
	/** The file's resolve URL, fetched with ranged GETs received straight into shared chunks (HubFetch.openRange). */
	url: string;
	/** `hf_...`; sent to the hub's origin only. */
	accessToken?: string;
	/** Receives the bytes from `writer.resumedBytes` to `size`, in order. */
	writer: BlobWriter;
	size: number;
	hubFetch: HubFetch;
	/** `org/name@sha:path`, for messages. */
	what: string;
	/**
	 * Bytes per ranged request when a file is split.
	 * @default 16 MiB
	 */
	partSize?: number;
	/**
	 * Ranged requests of one file in flight at once; also bounds memory to
	 * about `parts * partSize` per file (parts ahead of the write position wait
	 * in memory).
	 * @default 4
	 */
	parts?: number;
	/** A request that receives nothing for this long is cut and retried. @default 60000 */
	idleTimeoutMs?: number;
	retry?: RetryPolicy;
	signal?: AbortSignal;
	/** Memory the bytes are received into; share one between the files of a run. @default a pool for this call */
	chunks?: ChunkPool;
	/** Bytes received (for the progress bar). */
	onBytes?: (n: number) => void;
	onRetry?: (message: string) => void;
}

/** Bytes the part at the write position may hold before its reader waits for the writer. */
const HEAD_BUFFER = 8 * 1024 * 1024;

/** Received bytes waiting for the writer; `release` gives the pooled chunk back. */
interface Queued {
	data: Uint8Array;
	release: () => void;
}

interface Part {
	start: number;
	end: number;
	/** Bytes received so far (buffered or written). */
	received: number;
	/** Received but not yet handed to the writer. */
	queue: Queued[];
	queuedBytes: number;
	/** The pooled chunk the part's request is receiving into, and how much of it is filled. */
	cur: Uint8Array | null;
	fill: number;
	done: boolean;
}

/**
 * Downloads the rest of one file into a BlobWriter. A large file is fetched
 * as several ranged requests at once (to fill a fast link with one file);
 * the part at the write position streams straight into the writer while the
 * parts after it wait in memory, so bytes reach the writer in order and a
 * killed run leaves a clean prefix to resume from. A request that fails
 * after some bytes continues from where it stopped.
 */
export async function fetchIntoWriter(params: FetchIntoWriterParams): Promise<{ bytes: number }> {
	const { writer, size, hubFetch } = params;
	const partSize = params.partSize ?? 16 * 1024 * 1024;
	const maxParts = Math.max(1, params.parts ?? 4);
	const idleMs = params.idleTimeoutMs ?? 60_000;
	const chunks = params.chunks ?? createChunkPool();
	const from = writer.resumedBytes;
	if (from > size) throw new TypeError(`fetchIntoWriter: ${params.what}: resumed ${from} bytes of a ${size}-byte file`);
	if (from === size) return { bytes: 0 };
	const remaining = size - from;
	const count = remaining > partSize * 1.5 && maxParts > 1 ? Math.ceil(remaining / partSize) : 1;
	const parts: Part[] = [];
	for (let i = 0; i < count; i++) {
		const start = from + i * partSize;
		parts.push({ start, end: i === count - 1 ? size : start + partSize, received: 0, queue: [], queuedBytes: 0, cur: null, fill: 0, done: false });
	}
	const stop = new AbortController();
	const onOuterAbort = (): void => stop.abort(new InterruptedError());
	params.signal?.addEventListener("abort", onOuterAbort, { once: true });
	let head = 0;
	const waiters = new Set<() => void>();
	const poke = (): void => {
		for (const w of waiters) w();
		waiters.clear();
	};
	const nextPoke = (): Promise<void> => new Promise((resolve) => waiters.add(resolve));
	let bytes = 0;

	async function fetchPart(index: number): Promise<void> {
		const part = parts[index];
		let before = part.received;
		await withRetries(
			{
				...params.retry,
				signal: stop.signal,
				madeProgress: () => {
					const moved = part.received > before;
					before = part.received;
					return moved;
				},
				onRetry: (err, _attempt, delay) => params.onRetry?.(`${err.message}; retrying in ${(delay / 1000).toFixed(1)} s`),
			},
			() => streamRange(part),
		);
		part.done = true;
		poke();
	}

	async function streamRange(part: Part): Promise<void> {
		const idle = new AbortController();
		const onStop = (): void => idle.abort(stop.signal.reason);
		stop.signal.addEventListener("abort", onStop, { once: true });
		// One timer per request, not one per chunk: it checks when data last came.
		let last = Date.now();
		const timer = setInterval(
			() => {
				if (Date.now() - last > idleMs) idle.abort(new DOMException("idle", "TimeoutError"));
			},
			Math.max(10, Math.min(idleMs / 4, 5000)),
		);
		const offset = part.start + part.received;
		let skip = 0;
		/** A 200 to a ranged GET: the server ignored Range and sends the whole file. */
		let rangeIgnored = false;
		/**
		 * Of `n` bytes that just arrived: how many to drop (a server that ignores
		 * Range sends the whole file: the bytes before our offset) and how many
		 * to keep (at most what the part still lacks; more is an error, unless
		 * the whole file is coming, when the caller stops reading).
		 */
		const clip = (n: number): { drop: number; keep: number } => {
			last = Date.now();
			let drop = 0;
			if (rangeIgnored && skip < offset) {
				drop = Math.min(n, offset - skip);
				skip += drop;
			}
			const room = part.end - part.start - part.received;
			let keep = n - drop;
			if (keep > room) {
				if (!rangeIgnored) throw new HubError("HUB_BAD_RESPONSE", `${params.what}: the hub sent more bytes than the range ${offset}-${part.end - 1} holds`);
				keep = room;
			}
			part.received += keep;
			bytes += keep;
			params.onBytes?.(keep);
			return { drop, keep };
		};
		/** True once a whole-file body has given this part all its bytes. */
		const partFilledFromWholeFile = (): boolean => rangeIgnored && part.received === part.end - part.start;
		const behind = (): boolean => parts[head] === part && part.queuedBytes > HEAD_BUFFER && !stop.signal.aborted;
		try {
			let body: RangeBody;
			try {
				body = await hubFetch.openRange({ url: params.url, accessToken: params.accessToken, start: offset, end: part.end, what: params.what, signal: idle.signal });
			} catch (err) {
				throw failureOf(err, stop.signal, idle.signal, params.what);
			}
			rangeIgnored = body.status === 200;
			let cutShort = false;
			const sink: BodySink = {
				memory: () => {
					if (part.cur === null) {
						part.cur = chunks.take();
						part.fill = 0;
					}
					return part.cur.subarray(part.fill);
				},
				landed: (n) => {
					const cur = part.cur as Uint8Array;
					const { drop, keep } = clip(n);
					if (keep === 0) return true;
					if (drop > 0) cur.copyWithin(part.fill, part.fill + drop, part.fill + drop + keep);
					part.fill += keep;
					if (part.fill === cur.byteLength) queueChunk(part);
					if (partFilledFromWholeFile() && part.end < size) {
						// The whole file came for this part: it has its bytes, drop the rest.
						cutShort = true;
						body.cancel();
						return false;
					}
					// The part being written stops reading while the writer is behind;
					// a part ahead of it waits in memory (bounded by its size).
					if (!behind()) return true;
					void nextPoke().then(resumeWhenCaughtUp);
					return false;
				},
			};
			const resumeWhenCaughtUp = (): void => {
				if (behind()) void nextPoke().then(resumeWhenCaughtUp);
				else body.resume();
			};
			try {
				await body.read(sink);
			} catch (err) {
				if (!cutShort) throw failureOf(err, stop.signal, idle.signal, params.what);
			}
			if (part.received < part.end - part.start) {
				throw new TransientHubError("HUB_SHORT_BODY", `${params.what}: the connection ended after ${part.start + part.received} of ${part.end} bytes`, {
					hint: "run again: the download resumes",
				});
			}
		} finally {
			// Bytes received are part of the prefix a retry continues after.
			queueChunk(part);
			clearInterval(timer);
			stop.signal.removeEventListener("abort", onStop);
		}
	}

	/** Hands the filled part of the part's chunk to its queue. */
	function queueChunk(part: Part): void {
		const cur = part.cur;
		if (cur === null) return;
		const fill = part.fill;
		part.cur = null;
		part.fill = 0;
		if (fill === 0) {
			chunks.give(cur);
			return;
		}
		part.queue.push({ data: cur.subarray(0, fill), release: () => chunks.give(cur) });
		part.queuedBytes += fill;
		poke();
	}

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
			const t: Promise<void> = fetchPart(next++)
				.catch(fail)
				.finally(() => {
					tasks.delete(t);
					poke();
				});
			tasks.add(t);
		}
	};
	try {
		// Hand parts to the writer in order as their bytes arrive.
		while (head < parts.length && failure === null) {
			startMore();
			const part = parts[head];
			if (part.queue.length > 0) {
				const q = part.queue.shift() as Queued;
				part.queuedBytes -= q.data.byteLength;
				poke();
				await writer.writeShared(q.data, q.release);
				continue;
			}
			if (part.done) {
				head++;
				continue;
			}
			await nextPoke();
		}
	} catch (err) {
		fail(err);
	} finally {
		params.signal?.removeEventListener("abort", onOuterAbort);
	}
	await Promise.all(tasks);
	if (failure !== null) throw failure;
	return { bytes };
}

function failureOf(err: unknown, stop: AbortSignal, request: AbortSignal, what: string): unknown {
	if (stop.aborted) return stop.reason instanceof Error ? stop.reason : new InterruptedError();
	if (err instanceof HubError) return err;
	if (request.aborted) {
		return new TransientHubError("HUB_TIMEOUT", `${what}: no data received for too long`, { cause: err, hint: "check the network, then run again: the download resumes" });
	}
	const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
	const detail = cause?.code ?? cause?.message ?? (err as Error)?.message ?? String(err);
	return new TransientHubError("HUB_NETWORK", `network error fetching ${what} (${detail})`, { cause: err, hint: "check the network, then run again: the download resumes" });
}
