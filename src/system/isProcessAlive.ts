import { readFileSync } from "node:fs";

/**
 * True when process `pid` exists and is not a zombie. (`kill(pid, 0)`
 * succeeds on a zombie, which an unreaped holder is for a moment.)
 */
export function isProcessAlive(pid: number): boolean {
	if (!Number.isInteger(pid) || pid <= 0) throw new TypeError("isProcessAlive: `pid` must be a positive integer");
	let stat: string;
	try {
		stat = readFileSync(`/proc/${pid}/stat`, "utf8");
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ESRCH") return false;
		throw err;
	}
	// "pid (comm) S ...": comm may hold spaces and parentheses.
	const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
	return state !== "Z" && state !== "X";
}
