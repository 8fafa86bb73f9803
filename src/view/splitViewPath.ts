import { UsageError, type UsageErrorCode } from "../errors.js";

export interface SplitViewPathParams {
	/** A `/`-separated relative path (a prefix or an expanded template). */
	path: string;
	/** What the path is, for the error message (e.g. "--prefix"). */
	what: string;
	/** Error code to throw with. @default "VIEW_BAD_PREFIX" */
	code?: UsageErrorCode;
}

/**
 * Splits a view path into its segments, dropping empty ones (so a leading,
 * trailing or doubled `/` is harmless) and refusing `.`, `..` and NUL, which
 * would let a path leave the view or name nothing.
 */
export function splitViewPath(params: SplitViewPathParams): string[] {
	const { path, what } = params;
	const code = params.code ?? "VIEW_BAD_PREFIX";
	if (typeof path !== "string") throw new TypeError(`${what} must be a string`);
	const segments = path.split("/").filter((s) => s !== "");
	for (const s of segments) {
		if (s === "." || s === ".." || s.includes("\0")) {
			throw new UsageError(code, `${what} ${JSON.stringify(path)} has a "${s === "." || s === ".." ? s : "NUL"}" segment`, {
				hint: "give a relative path made of plain folder names, e.g. huggingface/hub",
			});
		}
	}
	const long = segments.find((s) => Buffer.byteLength(s, "utf8") > 255);
	if (long !== undefined) {
		throw new UsageError(code, `${what} has a folder or file name of ${Buffer.byteLength(long, "utf8")} bytes (names are at most 255 bytes): ${long.slice(0, 40)}...`, {
			hint: "use shorter names",
		});
	}
	return segments;
}
