import { HubError, InterruptedError } from "../../errors.js";
import type { BodySink } from "../http/HttpConnection.js";
import type { ChunkPool } from "./createChunkPool.js";
import type { HubFetch, RangeBody } from "./createHubFetch.js";
import type { FilePart, PartFlow } from "./PartTypes.js";
import { TransientHubError } from "./TransientHubError.js";
import type { RetryPolicy } from "./withRetries.js";
import { withRetries } from "./withRetries.js";

export interface StreamPartParams {
	/** The part to fill; its `received` bytes are already queued or written. */
	part: FilePart;
	/** From drainParts: when to stop reading, and whom to tell of queued bytes. */
	flow: PartFlow;
	/** The whole file's size (a server that ignores Range sends all of it). */
	size: number;
	/** The file's resolve URL. */
	url: string;
	/** `hf_...`; sent to the hub's origin only. */
	accessToken?: string;
	hubFetch: HubFetch;
	/** Memory the bytes are received into. */
	chunks: ChunkPool;
	/** `org/name@sha:path`, for messages. */
	what: string;
	retry?: RetryPolicy;
	/** Stops the part (Ctrl-C, another part failed); its reason is what streamPart rejects with. */
	signal: AbortSignal;
	/** Bytes received and kept (for the progress bar). */
	onBytes?: (n: number) => void;
	onRetry?: (message: string) => void;
}

/**
 * Fetches one part of a file with a ranged GET received straight into
 * pooled chunks, which go to the part's queue as they fill. A request that
 * fails after some bytes is retried from where it stopped, and a part that
 * made progress starts its retry count again; a request that receives
 * nothing for too long is cut by hubFetch (its idle timeout) and retried.
 * A server that ignores Range (a 200 with the whole file) is clipped to the
 * part's bytes; one that names another file size than the listing is
 * refused. Resolves once the part has all its bytes.
 */
export async function streamPart(params: StreamPartParams): Promise<void> {
	const { part } = params;
	let before = part.received;
	await withRetries(
		{
			...params.retry,
			signal: params.signal,
			madeProgress: () => {
				const moved = part.received > before;
				before = part.received;
				return moved;
			},
			onRetry: (err, _attempt, delay) => params.onRetry?.(`${err.message}; retrying in ${(delay / 1000).toFixed(1)} s`),
		},
		() => requestOnce(params),
	);
}

/** One ranged request for the bytes the part still lacks. */
async function requestOnce(p: StreamPartParams): Promise<void> {
	const { part, flow, chunks, what } = p;
	const offset = part.start + part.received;
	const want = part.end - part.start;
	/** Bytes of a whole-file body seen before `offset` (dropped). */
	let skip = 0;
	/** A 200 to a ranged GET: the server ignored Range and sends the whole file. */
	let rangeIgnored = false;
	/** The pooled chunk being received into, and how much of it is filled. */
	let cur: Uint8Array | null = null;
	let fill = 0;

	/** Hands the filled start of the current chunk to the part's queue. */
	const queueChunk = (): void => {
		const chunk = cur;
		if (chunk === null) return;
		const n = fill;
		cur = null;
		fill = 0;
		if (n === 0) {
			chunks.give(chunk);
			return;
		}
		part.queue.push({ data: chunk.subarray(0, n), release: () => chunks.give(chunk) });
		part.queuedBytes += n;
		flow.poke();
	};
	/**
	 * Of `n` bytes that just arrived: how many to drop (a server that ignores
	 * Range sends the whole file: the bytes before our offset) and how many
	 * to keep (at most what the part still lacks; more is an error, unless
	 * the whole file is coming, when the caller stops reading).
	 */
	const clip = (n: number): { drop: number; keep: number } => {
		let drop = 0;
		if (rangeIgnored && skip < offset) {
			drop = Math.min(n, offset - skip);
			skip += drop;
		}
		const room = want - part.received;
		let keep = n - drop;
		if (keep > room) {
			if (!rangeIgnored) throw new HubError("HUB_BAD_RESPONSE", `${what}: the hub sent more bytes than the range ${offset}-${part.end - 1} holds`);
			keep = room;
		}
		part.received += keep;
		p.onBytes?.(keep);
		return { drop, keep };
	};

	try {
		let body: RangeBody;
		try {
			body = await p.hubFetch.openRange({ url: p.url, accessToken: p.accessToken, start: offset, end: part.end, what, signal: p.signal });
		} catch (err) {
			throw failureOf(err, p.signal, what);
		}
		rangeIgnored = body.status === 200;
		if (body.fileSize !== null && body.fileSize !== p.size) {
			// Retrying cannot help: the listing and the file disagree.
			body.cancel();
			throw new HubError("HUB_SIZE_MISMATCH", `${what}: the hub lists ${p.size} bytes, but ${new URL(body.url).host} serves a file of ${body.fileSize}`, {
				url: body.url,
				hint: "the repo changed while it was ingested, or the hub (or a proxy) is broken; run ingest again later",
			});
		}
		let cutShort = false;
		const resumeWhenCaughtUp = (): void => {
			if (flow.mustWait()) void flow.changed().then(resumeWhenCaughtUp);
			else body.resume();
		};
		const sink: BodySink = {
			memory: () => {
				if (cur === null) {
					cur = chunks.take();
					fill = 0;
				}
				return cur.subarray(fill);
			},
			landed: (n) => {
				const chunk = cur as Uint8Array;
				const { drop, keep } = clip(n);
				if (keep === 0) return true;
				if (drop > 0) chunk.copyWithin(fill, fill + drop, fill + drop + keep);
				fill += keep;
				if (fill === chunk.byteLength) queueChunk();
				if (rangeIgnored && part.received === want && part.end < p.size) {
					// The whole file came for this part: it has its bytes, drop the rest.
					cutShort = true;
					body.cancel();
					return false;
				}
				// The part being written stops reading while the writer is behind;
				// a part ahead of it waits in memory (bounded by its size).
				if (!flow.mustWait()) return true;
				void flow.changed().then(resumeWhenCaughtUp);
				return false;
			},
		};
		try {
			await body.read(sink);
		} catch (err) {
			if (!cutShort) throw failureOf(err, p.signal, what);
		}
		if (part.received < want) {
			throw new TransientHubError("HUB_SHORT_BODY", `${what}: the connection ended after ${part.start + part.received} of ${part.end} bytes`, {
				hint: "run again: the download resumes",
			});
		}
	} finally {
		// Bytes received are part of the prefix a retry continues after.
		queueChunk();
	}
}

/** The error a failed request stands for: the reason the part was stopped, a hub error (hubFetch maps timeouts), or a network error. */
function failureOf(err: unknown, stop: AbortSignal, what: string): unknown {
	if (stop.aborted) return stop.reason instanceof Error ? stop.reason : new InterruptedError();
	if (err instanceof HubError) return err;
	const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
	const detail = cause?.code ?? cause?.message ?? (err as Error)?.message ?? String(err);
	return new TransientHubError("HUB_NETWORK", `network error fetching ${what} (${detail})`, { cause: err, hint: "check the network, then run again: the download resumes" });
}
