import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { Store } from "../Store.js";
import { PARTIAL_PREFIX, STORE_PATHS } from "../storeFormat.js";

export interface PartialDownloadSizeParams {
	/** An open store (a reader is enough: this only looks). */
	store: Store;
	/** The key a resumable createBlobWriter was given (letters, digits, `.`, `_`, `-`). */
	resumeKey: string;
}

/**
 * Bytes a createBlobWriter with this `resumeKey` would resume from (its
 * partial file in tmp/, named as createBlobWriter names it), or null when
 * there is none. For `ingest --dry-run`, which reports what a run would
 * continue without opening a writer.
 */
export async function partialDownloadSize(params: PartialDownloadSizeParams): Promise<number | null> {
	if (!params?.store) throw new TypeError("partialDownloadSize: `store` is required");
	if (typeof params.resumeKey !== "string" || !/^[A-Za-z0-9._-]{1,200}$/.test(params.resumeKey)) {
		throw new TypeError(`partialDownloadSize: \`resumeKey\` may hold only letters, digits, '.', '_', '-': ${JSON.stringify(params.resumeKey)}`);
	}
	try {
		return (await stat(join(params.store.dir, STORE_PATHS.tmp, `${PARTIAL_PREFIX}${params.resumeKey}`))).size;
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
		throw err;
	}
}
