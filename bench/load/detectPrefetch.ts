import type { BenchSession } from "./BenchSession.js";
import { runModelfs } from "./runModelfs.js";

export interface DetectPrefetchParams {
	session: BenchSession;
	/** Any store: the help text does not read it. */
	storeDir: string;
}

/**
 * Whether `modelfs mount` takes `--prefetch on|off` (issue 14 part 2: the
 * daemon reads a weight file's blob ahead when it is opened). The bench
 * measures rows with and without prefetch only when it does; until then
 * those rows are reported as not measured, with this note.
 */
export async function detectPrefetch(params: DetectPrefetchParams): Promise<{ available: boolean; note?: string }> {
	const { stdout } = await runModelfs({ session: params.session, storeDir: params.storeDir, args: ["mount", "--help"] });
	if (/--prefetch\b/.test(stdout)) return { available: true };
	return { available: false, note: "not measured: `modelfs mount` has no --prefetch on|off option yet (issue 14, part 2)" };
}
