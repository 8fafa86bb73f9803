import { join } from "node:path";
import { readFileIfExists } from "../system/readFileIfExists.js";
import type { MountRecord } from "./MountTypes.js";

/** `mount.json` of a runtime folder, or null when it does not exist or is unreadable JSON. */
export async function readMountRecord(runtimeDir: string): Promise<MountRecord | null> {
	const buf = await readFileIfExists({ path: join(runtimeDir, "mount.json") });
	if (buf === null) return null;
	try {
		const record = JSON.parse(buf.toString("utf8")) as MountRecord;
		return record?.format === 1 ? record : null;
	} catch {
		// Torn by a crash mid-write: the mount itself is still listed.
		return null;
	}
}
