import { chmod, link, mkdir, rename, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { IndexError } from "../../errors.js";
import type { HashResult } from "../../hash/HashMessages.js";
import { type BlobExpectation, checkExpectation } from "./checkExpectation.js";

export type { BlobExpectation } from "./checkExpectation.js";

import { indexTransaction } from "../index/indexTransaction.js";
import { type BlobValue, hexKey } from "../index/StoreIndex.js";
import type { Store } from "../Store.js";
import type { BlobRecord } from "../StoreTypes.js";
import { STORE_PATHS } from "../storeFormat.js";
import { blobPath } from "./blobPath.js";
import { fsyncDir } from "./fsyncDir.js";

export interface InstallBlobParams {
	store: Store;
	/** A complete, fsynced file in `<store>/tmp/`; consumed (moved or removed). */
	tmpPath: string;
	/** Digests of the tmp file's bytes. */
	hashes: HashResult;
	expect?: BlobExpectation;
	/** Names the source in error messages (a path, a URL, repo@commit:path). */
	label: string;
}

/**
 * Moves a verified tmp file into objects/ (link, so an existing object is
 * never replaced: the FUSE daemon may hold it as a passthrough backing file),
 * makes the directory entry durable, then records the blob and its aliases in
 * the index. Returns the index record.
 */
export async function installBlob(params: InstallBlobParams): Promise<BlobRecord> {
	const { store, tmpPath, hashes } = params;
	const index = store.index;
	if (store.readOnly || !index) throw new IndexError("INDEX_READ_ONLY", `cannot store ${params.label}: ${store.dir} is open read-only`);
	try {
		checkExpectation(params.label, hashes, params.expect);
		if (hashes.sha256 === null) throw new TypeError("installBlob: sha256 is required");
		const final = blobPath(store.dir, hashes.blake3);
		await chmod(tmpPath, 0o444);
		await mkdir(dirname(final), { recursive: true });
		let placed = false;
		let existed = false;
		try {
			await link(tmpPath, final);
			placed = true;
		} catch (err) {
			const code = (err as NodeJS.ErrnoException).code;
			if (code === "EEXIST") {
				existed = true;
				const existing = await stat(final);
				if (existing.size !== hashes.size) {
					// A truncated object (crash before our time, or damage): move it
					// aside rather than rewrite it in place, then put ours there.
					await rename(final, join(store.dir, STORE_PATHS.quarantine, `${hashes.blake3}.${Date.now()}`));
					await link(tmpPath, final);
					placed = true;
					existed = false;
				}
			} else if (code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "EMLINK") {
				// No hard links here: we hold the writer lock, so check-then-rename does not race.
				if (!(await stat(final).catch(() => null))) {
					await rename(tmpPath, final);
					placed = true;
				} else existed = true;
			} else throw err;
		}
		await unlink(tmpPath).catch(() => undefined);
		if (placed) await fsyncDir(dirname(final));
		// Our bytes were hashed; an object that was there already was not (verify will).
		const checkedCtimeMs = placed ? (await stat(final)).ctimeMs : undefined;
		const key = hexKey(hashes.blake3);
		const now = Date.now();
		const sha1 = hashes.sha1 ? hexKey(hashes.sha1) : null;
		let record: BlobValue | undefined;
		try {
			await indexTransaction({
				store,
				label: params.label,
				body: () => {
					const old = index.blobs.get(key);
					record = {
						size: hashes.size,
						sha256: hexKey(hashes.sha256 as string),
						sha1: sha1 ?? (old?.sha1 ? Buffer.from(old.sha1) : null),
						checkedAt: placed ? now : (old?.checkedAt ?? 0),
						checkedCtimeMs: placed ? checkedCtimeMs : old?.checkedCtimeMs,
					};
					index.blobs.put(key, record);
					index.sha256.put(hexKey(hashes.sha256 as string), key);
					if (sha1) index.sha1.put(sha1, key);
				},
			});
		} catch (err) {
			// Not indexed, so nobody reads it (we hold the writer lock): an object
			// we placed goes again, and a full disk is left as it was.
			if (placed) await unlink(final).catch(() => undefined);
			throw err;
		}
		return {
			blake3: hashes.blake3,
			size: hashes.size,
			sha256: hashes.sha256,
			sha1: record?.sha1 ? Buffer.from(record.sha1).toString("hex") : null,
			checkedAt: record?.checkedAt ?? now,
			existed,
		};
	} catch (err) {
		await unlink(tmpPath).catch(() => undefined);
		throw err;
	}
}
