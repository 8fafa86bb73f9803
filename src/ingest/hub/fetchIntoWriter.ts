import type { BlobWriter } from "../../store/objects/BlobWriter.js";
import { type ChunkPool, createChunkPool } from "./createChunkPool.js";
import type { HubFetch } from "./createHubFetch.js";
import { drainParts } from "./drainParts.js";
import type { FilePart } from "./PartTypes.js";
import { planParts } from "./planParts.js";
import { streamPart } from "./streamPart.js";
import type { RetryPolicy } from "./withRetries.js";

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
	retry?: RetryPolicy;
	signal?: AbortSignal;
	/** Memory the bytes are received into; share one between the files of a run. @default a pool for this call */
	chunks?: ChunkPool;
	/** Bytes received (for the progress bar). */
	onBytes?: (n: number) => void;
	onRetry?: (message: string) => void;
}

/**
 * Downloads the rest of one file into a BlobWriter: planParts cuts it into
 * ranged requests from the resume point, streamPart fetches each (several at
 * once, to fill a fast link with one file), and drainParts hands their bytes
 * to the writer in order, so a killed run leaves a clean prefix to resume
 * from. A request that fails after some bytes continues from where it stopped.
 */
export async function fetchIntoWriter(params: FetchIntoWriterParams): Promise<{ bytes: number }> {
	const { writer, size } = params;
	const from = writer.resumedBytes;
	if (from > size) throw new TypeError(`fetchIntoWriter: ${params.what}: resumed ${from} bytes of a ${size}-byte file`);
	const chunks = params.chunks ?? createChunkPool();
	const parts: FilePart[] = planParts({ from, size, partSize: params.partSize, parts: params.parts }).map((r) => ({ ...r, received: 0, queue: [], queuedBytes: 0, done: false }));
	let bytes = 0;
	await drainParts({
		parts,
		writer,
		maxParts: params.parts,
		signal: params.signal,
		fetchPart: (part, flow, signal) =>
			streamPart({
				part,
				flow,
				signal,
				size,
				url: params.url,
				accessToken: params.accessToken,
				hubFetch: params.hubFetch,
				chunks,
				what: params.what,
				retry: params.retry,
				onBytes: (n) => {
					bytes += n;
					params.onBytes?.(n);
				},
				onRetry: params.onRetry,
			}),
	});
	return { bytes };
}
