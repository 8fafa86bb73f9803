/** True for a relative `/`-separated path without empty, `.` or `..` parts or NUL. */
export function isSafeRelativePath(path: string): boolean {
	if (typeof path !== "string" || path === "" || path.startsWith("/") || path.includes("\0") || path.includes("\\")) return false;
	return path.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}
