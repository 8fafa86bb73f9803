/**
 * True for a relative `/`-separated path without empty, `.` or `..` parts,
 * NUL or backslash, each part at most 255 bytes (NAME_MAX: no Linux
 * filesystem, and so no view, can show a longer name).
 */
export function isSafeRelativePath(path: string): boolean {
	if (typeof path !== "string" || path === "" || path.startsWith("/") || path.includes("\0") || path.includes("\\")) return false;
	return path.split("/").every((part) => part !== "" && part !== "." && part !== ".." && Buffer.byteLength(part, "utf8") <= 255);
}
