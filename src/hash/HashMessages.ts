/**
 * The messages between HashPool (main thread) and hashWorker (worker
 * threads). Digests travel as lowercase hex.
 */

/** What one pass over some bytes produced. */
export interface HashResult {
	/** "" when BLAKE3 was not asked for (the sha256 half of a split stream). */
	blake3: string;
	/** null when sha256 was not asked for. */
	sha256: string | null;
	/** null when sha1 was not asked for (or the size was not known up front). */
	sha1: string | null;
	size: number;
}

/** Hash a whole file in one read pass, optionally copying it to `copyTo`. */
export interface FileTask {
	type: "file";
	id: number;
	path: string;
	sha256: boolean;
	sha1: boolean;
	/** Create this file (exclusively) and write every byte read into it, then fsync it. */
	copyTo?: string;
	/** Int32Array over a SharedArrayBuffer: non-zero means stop. */
	cancel: Int32Array;
}

/**
 * Start a stream: append chunks to `path` while hashing them. A stream may be
 * split over two workers: one writes and computes BLAKE3 (and sha1), the
 * other only reads the same shared chunks for sha256.
 */
export interface StreamOpen {
	type: "open";
	id: number;
	path: string;
	/** Append the chunks to `path`; false: only hash them (the file is read for `resume` only). */
	write: boolean;
	blake3: boolean;
	/** Total size when known and sha1 wanted: the git sha1 header needs it. */
	size?: number;
	sha256: boolean;
	/** Keep and re-hash the bytes already in `path` (a resumed partial download). */
	resume: boolean;
	/** Write the aligned bytes with O_DIRECT when the file system takes it (local disks: see createBlobWriter). */
	direct?: boolean;
}

export interface StreamChunk {
	type: "chunk";
	id: number;
	seq: number;
	data: Uint8Array;
}

/** fsync and close the stream's file, reply with the digests. */
export interface StreamFinish {
	type: "finish";
	id: number;
}

/** Close the stream's file without finishing (abort). */
export interface StreamClose {
	type: "close";
	id: number;
}

export type WorkerRequest = FileTask | StreamOpen | StreamChunk | StreamFinish | StreamClose;

export interface WorkerErrorInfo {
	message: string;
	code?: string;
	syscall?: string;
	path?: string;
}

export type WorkerReply =
	| { type: "progress"; id: number; bytes: number }
	| { type: "opened"; id: number; resumedBytes: number }
	| { type: "ack"; id: number; seq: number; error?: WorkerErrorInfo }
	| { type: "done"; id: number; result: HashResult }
	| { type: "closed"; id: number }
	| { type: "error"; id: number; error: WorkerErrorInfo };
