/**
 * Shapes shared by the modules that fetch one file in ranged parts:
 * planParts cuts the ranges, streamPart fills a part's queue from one
 * ranged request, drainParts hands the queues to the writer in order, and
 * fetchIntoWriter wires the three.
 */

/** One ranged request's share of a file. */
export interface PartRange {
	/** First byte. */
	start: number;
	/** One past the last byte. */
	end: number;
}

/** Received bytes waiting for the writer, in a pooled chunk; `release` gives the chunk back. */
export interface QueuedChunk {
	data: Uint8Array;
	release: () => void;
}

/** A part being fetched: streamPart appends to its queue, drainParts empties it. */
export interface FilePart extends PartRange {
	/** Bytes received so far (queued or written): a retry continues after them. */
	received: number;
	/** Received but not yet handed to the writer, in order. */
	queue: QueuedChunk[];
	queuedBytes: number;
	/** Every byte of the part is queued or written (set by drainParts). */
	done: boolean;
}

/** What drainParts tells the fetch of one part, and hears back from it. */
export interface PartFlow {
	/** True while the part must stop reading: it is the one being written and holds as much as it may. */
	mustWait(): boolean;
	/** Resolves at the next change: bytes queued or written, a part done, a failure. */
	changed(): Promise<void>;
	/** Tells drainParts that bytes were queued. */
	poke(): void;
}
