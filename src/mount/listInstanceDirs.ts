import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { readFileIfExists } from "../system/readFileIfExists.js";

export interface ListInstanceDirsParams {
	/** @default $MODELFS_RUN_DIR, else /run/modelfs */
	runRoot?: string;
}

export interface InstanceDir {
	/** The folder's name. */
	id: string;
	/** `<run root>/instances/<id>`. */
	dir: string;
	/** `major:minor` of its mount from its stats file ("0:0" until the holder wrote it), or null without one. */
	majorMinor: string | null;
	/** When its mount was made (stats file), ms since the epoch, or 0. */
	startedMs: number;
}

/**
 * Every mount instance's runtime folder under the run root (native/HOLDER.md,
 * "Runtime folders"), with the device number its holder recorded, so a
 * mountinfo entry finds its own instance even when another instance was
 * mounted at the same path since.
 */
export async function listInstanceDirs(params: ListInstanceDirsParams = {}): Promise<InstanceDir[]> {
	const base = join(resolve(params.runRoot ?? process.env.MODELFS_RUN_DIR ?? "/run/modelfs"), "instances");
	let names: string[];
	try {
		names = await readdir(base);
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
		throw err;
	}
	const out: InstanceDir[] = [];
	for (const id of names.sort()) {
		const dir = join(base, id);
		const stats = await readFileIfExists({ path: join(dir, "stats") }).catch(() => null);
		const ok = stats !== null && stats.length >= 128 && stats.toString("latin1", 0, 8) === "MFSSTAT1";
		out.push({
			id,
			dir,
			majorMinor: ok ? `${stats.readUInt32LE(48)}:${stats.readUInt32LE(52)}` : null,
			startedMs: ok ? Number(stats.readBigUInt64LE(16) / 1_000_000n) : 0,
		});
	}
	return out;
}
