/**
 * Every failure modelfs reports on purpose is a ModelfsError: a stable `code`
 * to branch on, a message that names the object it failed on, and a `hint`
 * that tells the operator what to do. Exit codes are mapped from the class in
 * cli.ts only. Each class takes only its own codes (the unions below), so a
 * code names one kind of failure and one exit code; branch on `code`, never
 * on the message.
 */

/** Codes of UsageError: wrong arguments, options or config (exit 2). */
export type UsageErrorCode =
	| "ABSORB_NO_TARGET"
	| "ABSORB_NO_VIEW"
	| "ABSORB_READ_ONLY_OVERLAY"
	| "CONCURRENCY_INVALID"
	| "CONFIG_INVALID"
	| "CONFIG_NOT_FOUND"
	| "CONFIG_UNKNOWN_NAME"
	| "ENV_INVALID"
	| "HF_ENDPOINT_INVALID"
	| "IMPORT_EMPTY"
	| "IMPORT_NOT_A_CACHE"
	| "IMPORT_NOT_A_FOLDER"
	| "IMPORT_NO_PATHS"
	| "IMPORT_PATH_NOT_FOUND"
	| "IMPORT_PATH_UNREADABLE"
	| "NO_FILES_MATCH"
	| "OVERLAY_BAD_LOWER"
	| "OVERLAY_LOWER_NOT_VIEW"
	| "OVERLAY_BAD_PATH"
	| "OVERLAY_NO_STATE"
	| "OVERLAY_NO_TARGET"
	| "OVERLAY_UPPER_WORK_FS"
	| "PROXY_INVALID"
	| "REPO_ID_INVALID"
	| "REPO_NOT_FOUND"
	| "REPO_TYPE_CONFLICT"
	| "REPO_TYPE_INVALID"
	| "REVISION_AMBIGUOUS"
	| "REVISION_INVALID"
	| "REVISION_NOT_FOUND"
	| "REVISION_REQUIRED"
	| "SCAN_BAD_REPORT"
	| "SCAN_DUPLICATE_NODE"
	| "SCAN_NOT_A_FOLDER"
	| "SCAN_NO_INPUT"
	| "SCAN_PATH_NOT_FOUND"
	| "SNAPSHOT_PATH_CONFLICT"
	| "SNAPSHOT_PATH_DUPLICATE"
	| "SNAPSHOT_PATH_INVALID"
	| "TOKEN_FILE_UNREADABLE"
	| "TOKEN_INVALID"
	| "SYNC_NO_MODELS"
	| "UP_BACKEND_INVALID"
	| "USAGE_DURATION"
	| "USAGE_IMPORT_AS"
	| "USAGE_REPO_TYPE"
	| "VIEW_BAD_LAYOUT"
	| "WARM_THROUGH_NOT_FOUND"
	| "VIEW_BAD_PREFIX"
	| "VIEW_BAD_TEMPLATE"
	| "VIEW_PATH_CONFLICT"
	| "VIEW_REPO_NOT_FOUND";

/** Codes of HubError: the hub, a proxy or the network (exit 3). */
export type HubErrorCode =
	| "HUB_BAD_RANGE"
	| "HUB_BAD_RESPONSE"
	| "HUB_CORRUPT_DOWNLOAD"
	| "HUB_ENTRY_NOT_FOUND"
	| "HUB_FORBIDDEN"
	| "HUB_GATED"
	| "HUB_HTTP_ERROR"
	| "HUB_NETWORK"
	| "HUB_PROXY"
	| "HUB_RATE_LIMITED"
	| "HUB_REPO_NOT_FOUND"
	| "HUB_REDIRECT_LOOP"
	| "HUB_REVISION_NOT_FOUND"
	| "HUB_SERVER_ERROR"
	| "HUB_SHORT_BODY"
	| "HUB_SIZE_MISMATCH"
	| "HUB_TIMEOUT"
	| "HUB_TLS"
	| "HUB_UNAUTHORIZED"
	| "HUB_UNSAFE_PATH";

/** Codes of StoreError: the store's files: missing, corrupt, full, locked (exit 4). */
export type StoreErrorCode =
	| "STORE_CORRUPT_BLOB"
	| "STORE_FORMAT_NEWER"
	| "STORE_HASH_MISMATCH"
	| "STORE_LOCKED"
	| "STORE_META_CORRUPT"
	| "STORE_MISSING_BLOB"
	| "STORE_NOT_FOUND"
	| "STORE_NO_SPACE"
	| "STORE_PARTIAL_BUSY"
	| "STORE_READ_ONLY"
	| "STORE_SIZE_MISMATCH";

/** Codes of IndexError: the LMDB index or the published catalog (exit 4). */
export type IndexErrorCode =
	| "CATALOG_BAD_PATH"
	| "CATALOG_ETAG_CONFLICT"
	| "INDEX_CATALOG_CORRUPT"
	| "INDEX_CATALOG_FORMAT"
	| "INDEX_CORRUPT"
	| "INDEX_NO_CATALOG"
	| "INDEX_OPEN_FAILED"
	| "INDEX_READ_ONLY"
	| "INDEX_UNAVAILABLE";

/** Codes of MountError: FUSE, overlayfs, permissions, the daemon (exit 5). */
export type MountErrorCode =
	| "ABSORB_BUSY"
	| "CHECK_FAILED"
	| "DEMO_BAD_BYTES"
	| "DEMO_BAD_SAFETENSORS"
	| "DEMO_LOCK_MISPLACED"
	| "DEMO_NEEDS_ROOT"
	| "DEMO_NO_CATALOG"
	| "MOUNT_BAD_IMAGE"
	| "MOUNT_BUSY"
	| "MOUNT_DAEMON_START"
	| "MOUNT_DAEMON_STUCK"
	| "MOUNT_DEAD"
	| "MOUNT_ENDED"
	| "MOUNT_FAILED"
	| "MOUNT_METRICS"
	| "MOUNT_NOT_DIR"
	| "MOUNT_NOT_EMPTY"
	| "MOUNT_NOT_MOUNTED"
	| "MOUNT_NOT_ROOT"
	| "MOUNT_NO_CONTROL"
	| "MOUNT_NO_DAEMON"
	| "MOUNT_NO_FUSE"
	| "MOUNT_NO_MOUNTPOINT"
	| "MOUNT_PERMISSION"
	| "MOUNT_TIMEOUT"
	| "MOUNT_TOOL_MISSING"
	| "MOUNT_UMOUNT_FAILED"
	| "OVERLAY_HELD"
	| "OVERLAY_IN_USE_ELSEWHERE"
	| "OVERLAY_NOT_MOUNTED"
	| "OVERLAY_TARGET_MOUNTED"
	| "REFRESH_FAILED"
	| "REFRESH_FOREIGN_OVERLAY"
	| "RESTART_FAILED"
	| "STATUS_NOT_UP"
	| "UP_FAILED"
	| "VIEW_DEAD";

/** Codes of a plain ModelfsError: modelfs's own node-local files (overlay state, view image, stats file) in a state it cannot use (exit 1). */
export type NodeErrorCode =
	| "OVERLAY_COPY_MISMATCH"
	| "OVERLAY_NESTED_MOUNT"
	| "OVERLAY_NO_SPACE"
	| "OVERLAY_STATE_CORRUPT"
	| "OVERLAY_UNSUPPORTED_FILE"
	| "PAGE_CACHE_TOOL_FAILED"
	| "PAGE_CACHE_TOOL_MISSING"
	| "STATS_FORMAT"
	| "VIEW_IMAGE_WRITE"
	| "WARM_READ_FAILED";

/** Every code modelfs throws with. */
export type ErrorCode = UsageErrorCode | HubErrorCode | StoreErrorCode | IndexErrorCode | MountErrorCode | NodeErrorCode | "INTERRUPTED";

export interface ModelfsErrorOptions {
	/** What the operator can do about it, printed on its own line. */
	hint?: string;
	/** The underlying error (an errno error, a fetch failure...). */
	cause?: unknown;
}

export class ModelfsError extends Error {
	readonly code: ErrorCode;
	readonly hint: string | undefined;

	constructor(code: ErrorCode, message: string, options: ModelfsErrorOptions = {}) {
		super(message, { cause: options.cause });
		this.name = "ModelfsError";
		this.code = code;
		this.hint = options.hint;
	}
}

/** Wrong arguments or options given by the user (exit 2). */
export class UsageError extends ModelfsError {
	declare readonly code: UsageErrorCode;
	constructor(code: UsageErrorCode, message: string, options: ModelfsErrorOptions = {}) {
		super(code, message, options);
		this.name = "UsageError";
	}
}

export interface HubErrorOptions extends ModelfsErrorOptions {
	status?: number;
	/** Request URL, credentials already stripped. */
	url?: string;
	requestId?: string;
}

/** The hub or the network failed (exit 3). */
export class HubError extends ModelfsError {
	declare readonly code: HubErrorCode;
	readonly status: number | undefined;
	readonly url: string | undefined;
	readonly requestId: string | undefined;

	constructor(code: HubErrorCode, message: string, options: HubErrorOptions = {}) {
		super(code, message, options);
		this.name = "HubError";
		this.status = options.status;
		this.url = options.url === undefined ? undefined : stripCredentials(options.url);
		this.requestId = options.requestId;
	}
}

/** The store's files: missing, corrupt, full, locked (exit 4). */
export class StoreError extends ModelfsError {
	declare readonly code: StoreErrorCode;
	constructor(code: StoreErrorCode, message: string, options: ModelfsErrorOptions = {}) {
		super(code, message, options);
		this.name = "StoreError";
	}
}

/** The LMDB index or the published catalog (exit 4). */
export class IndexError extends ModelfsError {
	declare readonly code: IndexErrorCode;
	constructor(code: IndexErrorCode, message: string, options: ModelfsErrorOptions = {}) {
		super(code, message, options);
		this.name = "IndexError";
	}
}

export interface MountErrorOptions extends ModelfsErrorOptions {
	path?: string;
	errno?: string;
}

/** FUSE, overlayfs, permissions, the daemon (exit 5). */
export class MountError extends ModelfsError {
	declare readonly code: MountErrorCode;
	readonly path: string | undefined;
	readonly errno: string | undefined;

	constructor(code: MountErrorCode, message: string, options: MountErrorOptions = {}) {
		super(code, message, options);
		this.name = "MountError";
		this.path = options.path;
		this.errno = options.errno;
	}
}

/** Thrown when the user interrupts a long operation (exit 130). */
export class InterruptedError extends ModelfsError {
	constructor(message = "interrupted") {
		super("INTERRUPTED", message);
		this.name = "InterruptedError";
	}
}

/** Removes user:password@ and token-like query parameters from a URL. */
export function stripCredentials(url: string): string {
	try {
		const u = new URL(url);
		u.username = "";
		u.password = "";
		for (const key of [...u.searchParams.keys()]) {
			if (/token|key|secret|signature|sig/i.test(key)) u.searchParams.set(key, "***");
		}
		return u.toString();
	} catch {
		return url.replace(/\/\/[^@/]+@/, "//");
	}
}
