import { ModelfsError } from "../errors.js";
import type { ViewSkip } from "./ViewTree.js";

/** Codes that mean "this one entry cannot be shown", as opposed to a bad option or a broken store. */
const UNSHOWABLE = new Set(["CATALOG_BAD_PATH", "CATALOG_ETAG_CONFLICT", "VIEW_BAD_TEMPLATE"]);

export interface SkipUnshowableParams {
	/** Where the entry is, for the skip record. */
	at: Omit<ViewSkip, "reason">;
	/** Told of the entry when `add` finds it cannot be shown. */
	onSkip: (skip: ViewSkip) => void;
	/** Adds the entry (a repo, a file, a ref) to the tree. */
	add: () => void;
}

/**
 * Runs one layout step and turns "this entry cannot be shown" into a skip,
 * so one hostile or damaged name never takes the whole view down. Any other
 * failure is rethrown.
 */
export function skipUnshowable(params: SkipUnshowableParams): void {
	try {
		params.add();
	} catch (err) {
		if (!(err instanceof ModelfsError) || !UNSHOWABLE.has(err.code)) throw err;
		params.onSkip({ ...params.at, reason: err.message });
	}
}
