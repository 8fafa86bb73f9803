/** The store format this code writes and the newest it can read. */
export const STORE_FORMAT = 1;

/** Contents of `<store>/modelfs.json`. */
export interface StoreMeta {
	format: number;
	createdAt: string;
}

/** Names inside a store directory. */
export const STORE_PATHS = {
	meta: "modelfs.json",
	objects: "objects",
	tmp: "tmp",
	index: "index",
	catalog: "catalog",
	quarantine: "quarantine",
	lock: "lock",
} as const;

/** The folders every store has; a writer makes any that is missing when it opens the store. */
export const STORE_SUBDIRS = [STORE_PATHS.objects, STORE_PATHS.tmp, STORE_PATHS.catalog, STORE_PATHS.quarantine] as const;

/** Resumable partial downloads in tmp/ are named `partial-<resumeKey>`. */
export const PARTIAL_PREFIX = "partial-";

/** Partial downloads untouched for this long are removed when a writer opens the store. */
export const PARTIAL_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/** How many catalog generations are kept (readers may still be building from an older one). */
export const CATALOGS_KEPT = 5;
