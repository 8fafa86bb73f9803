import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

export interface MeasureDirParams {
	dir: string;
}

export interface DirMeasure {
	/** Regular files and symlinks (whiteouts not counted). */
	files: number;
	/** Disk used, from st_blocks (what `du` shows). */
	bytes: number;
	/** Folders this user may not read (EACCES): the figures leave them out. */
	unreadable: string[];
}

/**
 * Files and disk use of a folder (an upper layer), or null if it does not
 * exist. Folders the caller may not read are listed, not fatal: `status`
 * works for any user and says what it could not see.
 */
export async function measureDir(params: MeasureDirParams): Promise<DirMeasure | null> {
	const out: DirMeasure = { files: 0, bytes: 0, unreadable: [] };
	const walk = async (dir: string): Promise<void> => {
		let names: string[];
		try {
			names = await readdir(dir);
		} catch (err) {
			const code = (err as NodeJS.ErrnoException).code;
			if (code !== "EACCES" && code !== "EPERM") throw err;
			out.unreadable.push(dir);
			return;
		}
		for (const name of names) {
			const p = join(dir, name);
			const s = await lstat(p).catch(() => null);
			if (s === null) continue;
			out.bytes += s.blocks * 512;
			if (s.isDirectory()) await walk(p);
			else if (s.isFile() || s.isSymbolicLink()) out.files++;
		}
	};
	try {
		await walk(params.dir);
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
		throw err;
	}
	return out;
}
