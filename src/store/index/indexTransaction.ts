import { statfs } from "node:fs/promises";
import { IndexError } from "../../errors.js";
import { storeWriteError } from "../objects/storeWriteError.js";
import type { Store } from "../Store.js";

export interface IndexTransactionParams {
	/** A store open for writing. */
	store: Store;
	/** Names what the transaction records (a blob's source, repo@commit), for messages. */
	label: string;
	/** The index writes, run in one LMDB transaction. */
	body: () => void;
}

/** Below this much free space a failed commit is taken for a full disk. */
const FULL_BELOW = 16 << 20;

/**
 * Below this much free space a commit is not tried. liblmdb prints its own
 * "Write error: ..." to stderr when a page write fails, and lmdb-js then
 * logs "Error: Input/output error" with a stack, all before any error
 * reaches us: on a full disk that noise came before the clean message.
 * A commit writes a few pages (4 KiB each) and the meta page; 2 MiB is far
 * more than one needs and far less than any blob that could follow.
 */
const RESERVE = 2 << 20;

/**
 * Runs one index write transaction. lmdb-js reports a commit that failed
 * (on a full disk: EIO from its write thread, not ENOSPC) as "Commit
 * failed", puts the cause in a second promise, `commitError`, and rejects
 * its batch's own commit promise too; nobody awaited those two, so their
 * rejections crashed the CLI with exit code 1, and closing the store then
 * waited forever. Both are watched here (in the same microtask run as the
 * rejection, so Node never sees them unhandled), and a failed commit on a
 * filesystem with (almost) no space left becomes STORE_NO_SPACE like any
 * other full-disk write.
 */
export async function indexTransaction(params: IndexTransactionParams): Promise<void> {
	const { store } = params;
	const index = store.index;
	if (store.readOnly || !index) throw new IndexError("INDEX_READ_ONLY", `cannot record ${params.label}: ${store.dir} is open read-only`);
	const free = await statfs(store.dir).catch(() => null);
	if (free && free.bavail * free.bsize < RESERVE)
		throw storeWriteError(store, params.label, Object.assign(new Error(`${free.bavail * free.bsize} bytes free, under the ${RESERVE} an index commit keeps`), { code: "ENOSPC" }));
	try {
		await index.env.transaction(() => {
			params.body();
			// The body's puts return the batch's commit promise, which nobody
			// awaits and which rejects when the commit fails: watched here, while
			// `committed` is still that promise (after the failure lmdb-js may be
			// on the next batch; seen under load: exit 1 on a full disk).
			index.env.committed.then(undefined, () => undefined);
		});
	} catch (err) {
		const commitError = (err as { commitError?: Promise<unknown> } | null)?.commitError;
		if (!commitError || typeof commitError.then !== "function") throw err;
		commitError.then(undefined, () => undefined);
		// `committed` is a thenable over lmdb-js's current batch promise: the one that failed.
		index.env.committed.then(undefined, () => undefined);
		store.noteIndexFailure();
		const fs = await statfs(store.dir).catch(() => null);
		if (fs && fs.bavail * fs.bsize < FULL_BELOW)
			throw storeWriteError(store, params.label, Object.assign(new Error(`index commit failed: ${(err as Error).message}`), { code: "ENOSPC", cause: err }));
		throw err;
	}
}
