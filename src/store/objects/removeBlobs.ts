import { unlink } from "node:fs/promises";
import { IndexError } from "../../errors.js";
import { hexKey } from "../index/StoreIndex.js";
import type { Store } from "../Store.js";
import { blobPath } from "./blobPath.js";

export interface RemoveBlobsParams {
	/** A store open for writing. */
	store: Store;
	/** BLAKE3 keys of the blobs to drop. */
	blobs: string[];
}

/**
 * Drops blobs from the index (with the aliases that point at them) in one
 * transaction, then unlinks their objects. Index first: a crash in between
 * leaves orphan objects for gc, never index entries without an object. The
 * caller makes sure no snapshot uses them (gc's mark, or blobs added by a
 * failed import).
 */
export async function removeBlobs(params: RemoveBlobsParams): Promise<void> {
	const { store } = params;
	const index = store.index;
	if (store.readOnly || !index) throw new IndexError("INDEX_READ_ONLY", `cannot remove blobs: ${store.dir} is open read-only`);
	if (params.blobs.length === 0) return;
	await index.env.transaction(() => {
		for (const blake3 of params.blobs) {
			const key = hexKey(blake3);
			const value = index.blobs.get(key);
			index.blobs.remove(key);
			if (!value) continue;
			// Remove an alias only if it still points at this blob.
			const s256 = Buffer.from(value.sha256);
			if (index.sha256.getBinary(s256)?.equals(key)) index.sha256.remove(s256);
			if (value.sha1) {
				const s1 = Buffer.from(value.sha1);
				if (index.sha1.getBinary(s1)?.equals(key)) index.sha1.remove(s1);
			}
		}
	});
	for (const blake3 of params.blobs) {
		await unlink(blobPath(store.dir, blake3)).catch((err: NodeJS.ErrnoException) => {
			if (err.code !== "ENOENT") throw err;
		});
	}
}
