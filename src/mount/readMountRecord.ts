import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { MountRecord } from "./MountTypes.js";

/** `mount.json` of a runtime folder, or null when it does not exist or is unreadable JSON. */
export async function readMountRecord(runtimeDir: string): Promise<MountRecord | null> {
	let text: string;
	try {
		text = await readFile(join(runtimeDir, "mount.json"), "utf8");
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
		throw err;
	}
	try {
		const record = JSON.parse(text) as MountRecord;
		return record?.format === 1 ? record : null;
	} catch {
		// Torn by a crash mid-write: the mount itself is still listed.
		return null;
	}
}
