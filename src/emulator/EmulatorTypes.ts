/**
 * The shapes of the hub emulator: a real HTTP server on 127.0.0.1 that
 * answers the routes `@huggingface/hub` 2.x requests (model/dataset info,
 * tree listing, resolve with Range), so ingest, its tests, its bench and
 * `modelfs demo` never reach the internet.
 */

/** `model` repos are served under `/api/models` and `/<name>`, datasets under `/api/datasets` and `/datasets/<name>`. */
export type EmulatorRepoType = "model" | "dataset";

/**
 * The bytes of one file. A Buffer (or string, UTF-8) is served from memory;
 * `{ path }` is streamed from a file on disk (read once at commit to hash it);
 * `{ generate }` is written once to the emulator's data folder as repeatable
 * pseudo-random bytes (same seed and size, same bytes) and then served from
 * disk, which is how benches get multi-GiB files without holding them in RAM.
 */
export type EmulatorContent = string | Uint8Array | { path: string } | { generate: { seed: string; size: number } };

export interface EmulatorFileSpec {
	content: EmulatorContent;
	/**
	 * Store the file through LFS (listed with `lfs.oid` = sha256, served with
	 * X-Linked-Etag / X-Linked-Size).
	 * @default true for weights-like extensions (.safetensors, .bin, .gguf...) and files of 10 MiB or more
	 */
	lfs?: boolean;
}

/** A file as a commit holds it, hashes computed. */
export interface EmulatorFile {
	path: string;
	size: number;
	/** git blob sha1 of what git stores: the content, or the LFS pointer for LFS files. */
	oid: string;
	/** git blob sha1 of the content itself (what huggingface_hub names a non-LFS blob). */
	contentSha1: string;
	/** sha256 of the content. */
	sha256: string;
	lfs: boolean;
	/** Where the bytes are: in memory or a file on disk. */
	source: { kind: "memory"; data: Buffer } | { kind: "disk"; path: string };
}

export interface EmulatorCommit {
	sha: string;
	parent: string | null;
	message: string;
	files: Map<string, EmulatorFile>;
}

export interface EmulatorRepo {
	type: EmulatorRepoType;
	name: string;
	/** Files are downloadable only with one of `tokens` (info and tree stay public, as on the hub). */
	gated: boolean;
	/** Nothing is visible without one of `tokens`. */
	private: boolean;
	/** Access tokens (`hf_...`) that may read a gated or private repo. */
	tokens: string[];
	commits: Map<string, EmulatorCommit>;
	/** branch or tag -> commit sha */
	refs: Map<string, string>;
}

/** What a fault does to the requests it matches. */
export type EmulatorFaultKind =
	/** Send the headers and `afterBytes` of the body, then destroy the socket. */
	| "drop"
	/** 429 with `Retry-After: retryAfterSeconds`. */
	| "rateLimit"
	/** `status` (default 500) with a JSON error body. */
	| "serverError"
	/** 401 (no token) with `X-Error-Code: GatedRepo`. */
	| "gated"
	/** 404 with `X-Error-Code: errorCode` (default EntryNotFound). */
	| "notFound"
	/** Full status and headers, but one byte of the body flipped. */
	| "corrupt"
	/** The body trickles at `bytesPerSecond`. */
	| "slow";

export interface EmulatorFault {
	kind: EmulatorFaultKind;
	/**
	 * Which requests: a string is a file path inside a repo (resolve routes) or,
	 * if it starts with `/`, a prefix of the URL path; a RegExp is tested on the
	 * URL path. All requests when omitted.
	 */
	match?: string | RegExp;
	/** Only this kind of route. */
	route?: "info" | "tree" | "resolve";
	/**
	 * How many matching requests the fault applies to, then it is spent.
	 * @default Infinity
	 */
	times?: number;
	/** drop: body bytes sent before the socket is destroyed. @default half the body */
	afterBytes?: number;
	/** rateLimit: the Retry-After header, in seconds. @default 1 */
	retryAfterSeconds?: number;
	/** serverError: the status. @default 500 */
	status?: number;
	/** notFound: the X-Error-Code. @default "EntryNotFound" */
	errorCode?: string;
	/** slow: throttle. @default 1 MiB/s */
	bytesPerSecond?: number;
}

/** One request the emulator answered, for tests to assert on. */
export interface EmulatorRequestRecord {
	method: string;
	/** URL path and query. */
	url: string;
	route: "info" | "tree" | "resolve" | "other";
	range: string | null;
	status: number;
	/** Whether an Authorization header came with it (never its value). */
	authorized: boolean;
}
