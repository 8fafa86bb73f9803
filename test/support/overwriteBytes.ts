import { closeSync, openSync, writeSync } from "node:fs";

/** Overwrites `bytes` at `offset` of a file in place (damage made by hand, as a bad disk or a stray write would). */
export function overwriteBytes(path: string, offset: number, bytes: Buffer): void {
	const fd = openSync(path, "r+");
	try {
		writeSync(fd, bytes, 0, bytes.length, offset);
	} finally {
		closeSync(fd);
	}
}
