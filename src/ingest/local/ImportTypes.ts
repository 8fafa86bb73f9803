import type { RepoType } from "../../store/StoreTypes.js";

/** A source file that import reported and left out. */
export interface ImportSkip {
	/** The source path (in the cache or folder). */
	path: string;
	/** `broken-symlink`, `incomplete`, `unreadable`, `hash-mismatch`, `not-a-file`, `invalid-name`... */
	reason: string;
	detail: string;
}

/** What `modelfs import` did, printed as a summary or with --json. */
export interface ImportReport {
	repos: Array<{
		type: RepoType;
		name: string;
		snapshots: Array<{ commit: string; files: number; bytes: number }>;
		refs: Record<string, string>;
	}>;
	files: number;
	/** Bytes of new blobs written into the store. */
	bytesCopied: number;
	/** Bytes the store had already (found by name without reading, or read and found to exist). */
	bytesDeduplicated: number;
	skipped: ImportSkip[];
	generation: number;
}

/** Callbacks shared by the import functions. */
export interface ImportCallbacks {
	/** Bytes that will be read at most (called once the sources are scanned). */
	onTotal?: (bytes: number) => void;
	/** Bytes read since the last call. */
	onProgress?: (bytes: number) => void;
	/** A source file was skipped (also listed in the report). */
	onSkip?: (skip: ImportSkip) => void;
}
