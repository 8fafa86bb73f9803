import type { Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

export interface ListWhiteoutsParams {
	/** The overlay's upper layer. */
	upper: string;
	/** The view it stands on (the overlay's lowerdir). */
	lower: string;
	/**
	 * The overlay's mountpoint while it is mounted: lets opaque folders be
	 * told (a folder deleted and made again through the overlay hides the
	 * view's entries in it without a whiteout per name). Without it only
	 * whiteouts are found. @default none
	 */
	merged?: string;
}

/** An entry of the view that the upper layer hides from the backend. */
export interface HiddenEntry {
	/** Relative path under the target (and under the view). */
	path: string;
	/**
	 * `whiteout`: a deletion marker (a 0:0 character device) over the view's
	 * entry, left by a delete through the overlay (`hf cache rm`, `rm -r`);
	 * `opaque`: a folder made again after such a delete, which hides
	 * everything the view has in it.
	 */
	kind: "whiteout" | "opaque";
	/** What the view has there. */
	hides: "file" | "dir" | "symlink";
	/** Opaque folders: how many of the view's entries in it are hidden. */
	hiddenEntries: number;
}

/**
 * The view entries an overlay's upper layer hides: whiteouts over names the
 * view has, and (with `merged`) opaque folders over folders the view has.
 * Whiteouts over names the view does not have hide nothing and are left
 * out. Only reads; `status` and `check` call it, `overlay unhide` removes
 * what it finds.
 */
export async function listWhiteouts(params: ListWhiteoutsParams): Promise<HiddenEntry[]> {
	const found: HiddenEntry[] = [];
	const walk = async (rel: string): Promise<void> => {
		let names: string[];
		try {
			names = (await readdir(join(params.upper, rel))).sort();
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
			throw err;
		}
		for (const name of names) {
			const p = rel === "" ? name : `${rel}/${name}`;
			const s = await lstat(join(params.upper, p)).catch(() => null);
			if (s === null) continue;
			const view = await lstat(join(params.lower, p)).catch(() => null);
			if (view === null) continue;
			if (isWhiteout(s)) {
				found.push({ path: p, kind: "whiteout", hides: kindOf(view), hiddenEntries: 0 });
				continue;
			}
			if (!s.isDirectory() || !view.isDirectory()) continue;
			if (params.merged !== undefined) {
				const hidden = await hiddenIn(params, p);
				if (hidden > 0) {
					// Nothing of the view shows below an opaque folder: no need to look further down.
					found.push({ path: p, kind: "opaque", hides: "dir", hiddenEntries: hidden });
					continue;
				}
			}
			await walk(p);
		}
	};
	await walk("");
	return found;
}

/** View entries of folder `p` that neither upper has nor the overlay shows: > 0 means upper's folder is opaque. */
async function hiddenIn(params: ListWhiteoutsParams, p: string): Promise<number> {
	const viewNames = await readdir(join(params.lower, p)).catch(() => [] as string[]);
	let hidden = 0;
	for (const name of viewNames) {
		if ((await lstat(join(params.upper, p, name)).catch(() => null)) !== null) continue;
		if ((await lstat(join(params.merged!, p, name)).catch(() => null)) === null) hidden++;
	}
	return hidden;
}

function isWhiteout(s: Stats): boolean {
	return s.isCharacterDevice() && s.rdev === 0;
}

function kindOf(s: Stats): HiddenEntry["hides"] {
	return s.isDirectory() ? "dir" : s.isSymbolicLink() ? "symlink" : "file";
}
