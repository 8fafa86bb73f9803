import { existsSync } from "node:fs";
import { StoreError } from "../../errors.js";
import { findBlob } from "../../store/index/findBlob.js";
import { blobPath } from "../../store/objects/blobPath.js";
import { putFile } from "../../store/objects/putFile.js";
import { removeBlobs } from "../../store/objects/removeBlobs.js";
import type { Store } from "../../store/Store.js";
import type { BlobRecord } from "../../store/StoreTypes.js";
import type { ImportCallbacks, ImportSkip } from "./ImportTypes.js";

/** One distinct source file to bring into the store. */
export interface ImportSource {
	/** Real path of the file. */
	path: string;
	size: number;
	/** From the cache's blob name: 64 hex = LFS sha256, 40 hex = git sha1. */
	name?: string;
}

export interface ImportSourcesParams extends ImportCallbacks {
	/** A store open for writing. */
	store: Store;
	sources: ImportSource[];
	/** Take 64-hex blob names as the sha256 without checking them. @default false */
	trustNames?: boolean;
	signal?: AbortSignal;
}

export interface ImportSourcesResult {
	/** Stored (or already present) blobs by source path. */
	stored: Map<string, BlobRecord>;
	skipped: Map<string, ImportSkip>;
	bytesCopied: number;
	bytesDeduplicated: number;
}

const SKIPPABLE = new Set(["EACCES", "EPERM", "EIO", "EISDIR", "ENOENT", "ELOOP", "ESIZECHANGED"]);

/**
 * Stores many local files, in parallel through the hash pool (one file per
 * core). A file whose name already maps to a blob in the index is not read
 * at all. Per-file problems (unreadable, content not matching its name) are
 * skipped and reported; store-wide ones (ENOSPC, read-only) stop everything.
 */
export async function importSources(params: ImportSourcesParams): Promise<ImportSourcesResult> {
	const { store } = params;
	const result: ImportSourcesResult = { stored: new Map(), skipped: new Map(), bytesCopied: 0, bytesDeduplicated: 0 };
	const todo: ImportSource[] = [];
	for (const src of params.sources) {
		const known = src.name === undefined ? null : src.name.length === 64 ? findBlob({ store, sha256: src.name }) : findBlob({ store, sha1: src.name });
		if (known && known.size === src.size && existsSync(blobPath(store.dir, known.blake3))) {
			result.stored.set(src.path, known);
			result.bytesDeduplicated += src.size;
		} else todo.push(src);
	}
	params.onTotal?.(todo.reduce((n, s) => n + s.size, 0));

	// A fatal error stops the other files at their next chunk.
	const stop = new AbortController();
	const onOuterAbort = () => stop.abort(params.signal?.reason);
	params.signal?.addEventListener("abort", onOuterAbort, { once: true });
	let fatal: unknown = null;
	try {
		await Promise.all(
			todo.map(async (src) => {
				if (stop.signal.aborted) return;
				const lfs = src.name?.length === 64;
				const expect = src.name === undefined ? undefined : lfs ? { sha256: src.name } : { sha1: src.name };
				try {
					const record = await putFile({
						store,
						path: src.path,
						expect,
						trustSha256: lfs && params.trustNames === true,
						// Files without a name get an etag from importEtag: sha1 only matters below the hub's 10 MB LFS threshold.
						sha1: src.name !== undefined ? !lfs : src.size < 10_000_000,
						signal: stop.signal,
						onProgress: params.onProgress,
					});
					result.stored.set(src.path, record);
					if (record.existed) result.bytesDeduplicated += record.size;
					else result.bytesCopied += record.size;
				} catch (err) {
					const code = (err as NodeJS.ErrnoException).code;
					let skip: ImportSkip | null = null;
					if (err instanceof StoreError && err.code === "STORE_HASH_MISMATCH") {
						skip = { path: src.path, reason: "hash-mismatch", detail: err.message };
					} else if (code && SKIPPABLE.has(code) && !(err instanceof StoreError)) {
						skip = { path: src.path, reason: "unreadable", detail: (err as Error).message };
					}
					if (skip) {
						result.skipped.set(src.path, skip);
						params.onSkip?.(skip);
						return;
					}
					// The first fatal error wins; the AbortErrors it causes in the others do not.
					fatal ??= err;
					stop.abort(err);
				}
			}),
		);
	} finally {
		params.signal?.removeEventListener("abort", onOuterAbort);
	}
	if (fatal) {
		// A failure (disk full...) leaves the index as it was: drop the blobs this
		// run added, nothing uses them yet. An interrupt keeps them, so the next
		// run finds them by name and does not copy them again.
		if (!params.signal?.aborted) {
			const added = [...result.stored.values()].filter((r) => r.existed === false).map((r) => r.blake3);
			await removeBlobs({ store, blobs: added }).catch(() => undefined);
		}
		throw fatal;
	}
	params.signal?.throwIfAborted();
	return result;
}
