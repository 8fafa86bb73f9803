import type { BlobRecord } from "../StoreTypes.js";

/** A streamed write of one blob into the store (hub downloads). */
export interface BlobWriter {
	/**
	 * Bytes already in `tmp/partial-<resumeKey>` from an interrupted run; they
	 * were re-hashed when the writer opened, so the caller continues the
	 * download at this offset.
	 */
	readonly resumedBytes: number;
	/** Bytes written so far, resumed ones included. */
	readonly bytesWritten: number;
	/** Appends a chunk (copied: the caller may reuse it). Rejects on ENOSPC and other write errors. */
	write(chunk: Uint8Array): Promise<void>;
	/**
	 * Appends a chunk that lives in a SharedArrayBuffer without copying it:
	 * the hash workers read it where it is. `release` is called once they are
	 * done with it, and only then may the caller reuse the memory (never, if
	 * the write fails). Resolves, like write(), when the writer can take more.
	 */
	writeShared(chunk: Uint8Array, release: () => void): Promise<void>;
	/**
	 * Checks size and digests against `expect` (STORE_HASH_MISMATCH and the
	 * tmp file removed on mismatch), fsyncs, moves the file into objects/ (an
	 * existing object is kept and ours dropped), and indexes blob and aliases.
	 */
	commit(expect?: { size?: number; sha256?: string; sha1?: string }): Promise<BlobRecord>;
	/** Stops the write; removes the tmp file unless `keepPartial` (and a resumeKey) is given. */
	abort(params?: { keepPartial?: boolean }): Promise<void>;
}
