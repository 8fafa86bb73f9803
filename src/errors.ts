/**
 * Every failure modelfs reports on purpose is a ModelfsError: a stable `code`
 * to branch on, a message that names the object it failed on, and a `hint`
 * that tells the operator what to do. Exit codes are mapped from the class in
 * cli.ts only.
 */
export interface ModelfsErrorOptions {
	/** What the operator can do about it, printed on its own line. */
	hint?: string;
	/** The underlying error (an errno error, a fetch failure...). */
	cause?: unknown;
}

export class ModelfsError extends Error {
	readonly code: string;
	readonly hint: string | undefined;

	constructor(code: string, message: string, options: ModelfsErrorOptions = {}) {
		super(message, { cause: options.cause });
		this.name = "ModelfsError";
		this.code = code;
		this.hint = options.hint;
	}
}

/** Wrong arguments or options given by the user (exit 2). */
export class UsageError extends ModelfsError {
	constructor(code: string, message: string, options: ModelfsErrorOptions = {}) {
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
	readonly status: number | undefined;
	readonly url: string | undefined;
	readonly requestId: string | undefined;

	constructor(code: string, message: string, options: HubErrorOptions = {}) {
		super(code, message, options);
		this.name = "HubError";
		this.status = options.status;
		this.url = options.url === undefined ? undefined : stripCredentials(options.url);
		this.requestId = options.requestId;
	}
}

/** The store's files: missing, corrupt, full, locked (exit 4). */
export class StoreError extends ModelfsError {
	constructor(code: string, message: string, options: ModelfsErrorOptions = {}) {
		super(code, message, options);
		this.name = "StoreError";
	}
}

/** The LMDB index or the published catalog (exit 4). */
export class IndexError extends ModelfsError {
	constructor(code: string, message: string, options: ModelfsErrorOptions = {}) {
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
	readonly path: string | undefined;
	readonly errno: string | undefined;

	constructor(code: string, message: string, options: MountErrorOptions = {}) {
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
