import { stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { IndexError } from "../../errors.js";
import { getHashPool } from "../../hash/getHashPool.js";
import type { HashResult } from "../../hash/HashMessages.js";
import type { Store } from "../Store.js";
import type { BlobRecord } from "../StoreTypes.js";
import { STORE_PATHS } from "../storeFormat.js";
import { directWritesFit } from "./directWritesFit.js";
import { type BlobExpectation, installBlob } from "./installBlob.js";
import { storeWriteError } from "./storeWriteError.js";
import { tmpName } from "./tmpName.js";

/** Largest file whose git sha1 is computed when nobody asked for it. */
const SHA1_MAX = 10 << 20;

export interface PutFileParams {
	/** A store open for writing. */
	store: Store;
	/** The local file to copy in; never modified. */
	path: string;
	/** Digests and size the file must have; a mismatch stores nothing (STORE_HASH_MISMATCH). */
	expect?: BlobExpectation;
	/**
	 * Compute the git sha1 (needed to index the `sha1:` alias of non-LFS files).
	 * @default true when `expect.sha1` is given or the file is at most 10 MiB
	 * (the hub stores larger files in LFS, named by sha256, so their sha1 alias
	 * would never be looked up)
	 */
	sha1?: boolean;
	/**
	 * Take `expect.sha256` as the file's sha256 without computing it (import
	 * --trust-names: the HF cache names LFS blobs by their sha256). @default false
	 */
	trustSha256?: boolean;
	/** Stops the copy between chunks (AbortError); the tmp file is removed. */
	signal?: AbortSignal;
	/** Bytes copied since the last call, for progress bars. */
	onProgress?: (bytes: number) => void;
}

/**
 * Copies a local file into the store: one read pass, hashed in the worker
 * pool (BLAKE3 and the write on one worker, sha256 on another; a clone on
 * filesystems with reflinks) while it is written to tmp/, then checks
 * `expect`, fsyncs and moves it into objects/ (an existing object is kept)
 * and indexes it with its aliases.
 */
export async function putFile(params: PutFileParams): Promise<BlobRecord> {
	if (!params?.store) throw new TypeError("putFile: `store` is required");
	if (typeof params.path !== "string" || params.path === "") throw new TypeError("putFile: `path` must be a non-empty string");
	const { store } = params;
	if (store.readOnly || !store.index) throw new IndexError("INDEX_READ_ONLY", `cannot store ${params.path}: ${store.dir} is open read-only`);
	if (params.trustSha256 && !params.expect?.sha256) throw new TypeError("putFile: `trustSha256` needs `expect.sha256`");
	const tmp = tmpName(store.dir, "blob");
	let sha1 = params.sha1;
	if (sha1 === undefined) {
		if (params.expect?.sha1) sha1 = true;
		else {
			sha1 = (await stat(params.path)).size <= SHA1_MAX;
		}
	}
	let hashes: HashResult;
	try {
		const direct = await directWritesFit(join(store.dir, STORE_PATHS.tmp));
		hashes = await getHashPool().copyFile({ path: params.path, sha256: !params.trustSha256, sha1, copyTo: tmp, direct, signal: params.signal, onProgress: params.onProgress });
	} catch (err) {
		await unlink(tmp).catch(() => undefined);
		throw storeWriteError(store, params.path, err);
	}
	if (params.trustSha256) hashes = { ...hashes, sha256: String(params.expect?.sha256).toLowerCase() };
	try {
		return await installBlob({ store, tmpPath: tmp, hashes, expect: params.expect, label: params.path });
	} catch (err) {
		throw storeWriteError(store, params.path, err);
	}
}
