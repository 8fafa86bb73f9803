import type { LoadResult, Temperature } from "./BenchTypes.js";
import type { CellRuns, LoadCell } from "./measureLoads.js";
import { summarizeRuns } from "./summarizeRuns.js";

export interface CollectResultsParams {
	/** What measureLoads returned. */
	cellRuns: CellRuns[];
	/** Bytes every pattern must read (all shards, headers included). */
	weightBytes: number;
	/** "<row label>, <pattern label>" for messages. */
	describe: (cell: LoadCell) => string;
	/** Something is wrong with the figures: wrong byte count, other bytes than the direct read. */
	fail: (line: string) => void;
	/** Worth knowing: a cold run that did not start cold, a warm run that read from the disk. */
	warn: (line: string) => void;
}

/**
 * Turns the runs of every cell into the report's load results: median and
 * spread, device figures, faults, and the ratio to the direct row of the
 * same pattern, temperature and device. Checks on the way that every run
 * read all the bytes, that verify runs saw the same bytes as the direct
 * read, that cold runs started with nothing cached and that warm runs read
 * (next to) nothing from the device.
 */
export function collectResults(params: CollectResultsParams): LoadResult[] {
	const { cellRuns, weightBytes } = params;
	const reference = cellRuns.find((c) => c.cell.row === "direct" && c.checksums.length > 0)?.checksums[0] ?? cellRuns.find((c) => c.checksums.length > 0)?.checksums[0];
	const load: LoadResult[] = [];
	for (const c of cellRuns) {
		if (c.failed) continue;
		const what = params.describe(c.cell);
		if (c.cold.length === 0) continue;
		if (c.bytes !== weightBytes) params.fail(`${what}: read ${c.bytes} bytes, expected ${weightBytes}`);
		const checksumOk = c.checksums.length === 0 ? undefined : c.checksums.every((s) => s === reference);
		if (checksumOk === false) params.fail(`${what}: the bytes read differ from the direct read`);
		for (const temp of ["cold", "warm"] as Temperature[]) {
			const runs = c[temp];
			if (runs.length === 0) continue;
			const residentBefore = temp === "cold" ? Math.max(...runs.map((r) => r.residentBeforeBytes ?? 0)) : undefined;
			if (residentBefore !== undefined && residentBefore > weightBytes / 100) {
				params.warn(`${what}: ${(residentBefore / 2 ** 20).toFixed(0)} MiB still cached before a cold run`);
			}
			const summary = summarizeRuns({ runs, bytes: c.bytes });
			// A quarter: other processes' reads count in the device's figures too, and a run that really missed the cache reads nearly all.
			if (temp === "warm" && summary.device && summary.device.bytes > weightBytes / 4) {
				params.warn(`${what}: warm runs read ${(summary.device.bytes / 2 ** 20).toFixed(0)} MiB from the device (median): not all of it stayed cached`);
			}
			load.push({
				row: c.cell.row,
				pattern: c.cell.pattern,
				temp,
				disk: c.cell.disk,
				bytes: c.bytes,
				...summary,
				runs,
				ratio: null,
				...(residentBefore === undefined ? {} : { residentBeforeBytes: residentBefore }),
				...(checksumOk === undefined ? {} : { checksumOk }),
			});
		}
	}
	for (const l of load) {
		const ref = load.find((x) => x.row === "direct" && x.pattern === l.pattern && x.temp === l.temp && x.disk === l.disk);
		l.ratio = ref && ref.gbps > 0 ? l.gbps / ref.gbps : null;
	}
	return load;
}
