import { writeFileSync } from "node:fs";
import type { BenchSession } from "./BenchSession.js";

export interface DropCachesParams {
	session: BenchSession;
	/** Where the knob is (tests point it elsewhere). @default /proc/sys/vm/drop_caches */
	knob?: string;
}

/**
 * Empties the page cache of the whole machine (and its dentries and
 * inodes): `sync`, then `echo 3 > /proc/sys/vm/drop_caches`, as root.
 * Dropping every cache, not only the pages of the files a row names, is what
 * makes "cold" the same state for every row: a per-file posix_fadvise only
 * reaches the pages of the files it is given, and dirty pages are not
 * dropped at all until they are written, hence the sync. Returns the
 * seconds it took (sync waits for every writer on the machine).
 */
export async function dropCaches(params: DropCachesParams): Promise<number> {
	const t0 = performance.now();
	await params.session.run("sync", []);
	writeFileSync(params.knob ?? "/proc/sys/vm/drop_caches", "3\n");
	return (performance.now() - t0) / 1000;
}
