import type { BackendSplit, LoadResult } from "./BenchTypes.js";

export interface SplitBackendParams {
	load: LoadResult[];
	/** Median seconds of the work alone (no file I/O). */
	workSeconds: number;
}

/**
 * For every row, temperature and device with both backend patterns: the
 * whole load, its I/O alone (backend-io) and the work alone, and how much
 * of the shorter part the longer one hid (see BackendSplit.overlap).
 */
export function splitBackend(params: SplitBackendParams): BackendSplit[] {
	const out: BackendSplit[] = [];
	const seconds = (l: LoadResult) => l.bytes / (l.gbps * 1e9);
	for (const total of params.load.filter((l) => l.pattern === "backend")) {
		const io = params.load.find((l) => l.pattern === "backend-io" && l.row === total.row && l.temp === total.temp && l.disk === total.disk);
		if (!io) continue;
		const t = seconds(total);
		const i = seconds(io);
		const w = params.workSeconds;
		const shorter = Math.min(i, w);
		out.push({
			row: total.row,
			temp: total.temp,
			disk: total.disk,
			totalSeconds: t,
			ioSeconds: i,
			workSeconds: w,
			// Under 2% of the whole, the shorter part is lost in the noise of the longer.
			overlap: shorter > 0.02 * t ? (i + w - t) / shorter : null,
		});
	}
	return out;
}
