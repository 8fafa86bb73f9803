import type { StoreIndex } from "./index/StoreIndex.js";

/** Releases the writer lock; set by openStore when it took it. */
export type ReleaseLock = () => Promise<void>;

/**
 * An open store. Writers (`readOnly: false`) hold the single writer lock and
 * the LMDB index read-write; readers may have no index at all (a read-only
 * mount where LMDB cannot open): they read the published catalog.
 */
export class Store {
	/** Absolute path of the store directory. */
	readonly dir: string;
	/** True unless this process holds the writer lock. */
	readonly readOnly: boolean;
	/** The LMDB index, or null when it could not be opened (read-only mount, no index yet). */
	readonly index: StoreIndex | null;
	#release: ReleaseLock | null;
	#closed = false;
	#indexFailed = false;

	constructor(params: { dir: string; readOnly: boolean; index: StoreIndex | null; release: ReleaseLock | null }) {
		this.dir = params.dir;
		this.readOnly = params.readOnly;
		this.index = params.index;
		this.#release = params.release;
	}

	get closed(): boolean {
		return this.#closed;
	}

	/**
	 * @internal an index commit failed (a full disk). lmdb-js then never
	 * settles its pending write, so close() would wait forever for it; the
	 * failed transaction was not applied, so close() skips that wait.
	 */
	noteIndexFailure(): void {
		this.#indexFailed = true;
	}

	/** Flushes and closes the index, then releases the writer lock. Safe to call twice. */
	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		try {
			if (!this.#indexFailed) await this.index?.close();
		} finally {
			await this.#release?.();
		}
	}
}
