import { readFileSync } from "node:fs";

/** True when `path` is a mount point now (from /proc/self/mountinfo). */
export function isMounted(path: string): boolean {
	const info = readFileSync("/proc/self/mountinfo", "utf8");
	const escaped = path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
	return info.split("\n").some((line) => line.split(" ")[4] === escaped);
}
