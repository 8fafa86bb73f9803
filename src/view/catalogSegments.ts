import { IndexError } from "../errors.js";

export interface CatalogSegmentsParams {
	/** A name taken from the catalog: a file path, a commit, an etag, a ref, a repo name. */
	value: string;
	/** What it is and where it comes from, for the message (e.g. "file path in org/name@abc"). */
	what: string;
	/** Whether `/` may separate several segments (paths, ref names, repo names). @default true */
	nested?: boolean;
}

/**
 * Splits a name that comes from the catalog into path segments for the view,
 * refusing anything that would leave its folder or name nothing (`..`, `.`,
 * empty segments, a leading `/`, NUL) and names over 255 bytes, which no
 * Linux filesystem can show. Layouts skip such an entry (skipUnshowable):
 * the rest of the view is still served.
 */
export function catalogSegments(params: CatalogSegmentsParams): string[] {
	const { value, what } = params;
	const nested = params.nested ?? true;
	const segments = typeof value === "string" ? value.split("/") : [];
	const bad =
		typeof value !== "string" || value.length === 0 || value.includes("\0") || (!nested && segments.length !== 1) || segments.some((s) => s === "" || s === "." || s === "..");
	if (bad) {
		throw new IndexError("CATALOG_BAD_PATH", `the catalog has a ${what} that cannot be shown in a view: ${JSON.stringify(value.slice(0, 300))}`, {
			hint: "the catalog is corrupt or was not written by modelfs; run `modelfs verify` on the store, or re-ingest that repo",
		});
	}
	const long = segments.find((s) => Buffer.byteLength(s, "utf8") > 255);
	if (long !== undefined) {
		throw new IndexError(
			"CATALOG_BAD_PATH",
			`the catalog has a ${what} with a name of ${Buffer.byteLength(long, "utf8")} bytes (a view shows names up to 255 bytes): ${long.slice(0, 40)}...`,
			{
				hint: "the entry is left out of views; remove or rename it at its source",
			},
		);
	}
	return segments;
}
