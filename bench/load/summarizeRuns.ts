import type { LoadResult, RunSample } from "./BenchTypes.js";
import { median } from "./median.js";

export interface SummarizeRunsParams {
	/** The timed runs of one row, pattern, temperature and device. */
	runs: RunSample[];
	/** Bytes each run read. */
	bytes: number;
}

/**
 * The figures a table shows for a set of runs: median GB/s with the
 * slowest and fastest run, and the median device figures (requests, bytes,
 * bytes per request) and major faults per GiB. The median, not the best
 * run: on a shared machine with a noisy disk the best of a few runs is a
 * lucky draw, and drawing more often for one row than another biases the
 * ratio; the spread is shown beside it.
 */
export function summarizeRuns(params: SummarizeRunsParams): Pick<LoadResult, "gbps" | "minGbps" | "maxGbps" | "device" | "majorFaultsPerGiB"> {
	const { runs } = params;
	if (runs.length === 0) throw new TypeError("runs: expected at least one run");
	const gbps = runs.map((r) => r.gbps);
	const withDevice = runs.filter((r) => r.device !== null);
	let device: LoadResult["device"] = null;
	if (withDevice.length === runs.length) {
		const requests = median(withDevice.map((r) => r.device!.requests));
		const bytes = median(withDevice.map((r) => r.device!.bytes));
		device = { requests, bytes, avgRequestBytes: requests > 0 ? bytes / requests : 0 };
	}
	return {
		gbps: median(gbps),
		minGbps: Math.min(...gbps),
		maxGbps: Math.max(...gbps),
		device,
		majorFaultsPerGiB: params.bytes > 0 ? median(runs.map((r) => r.majorFaults)) / (params.bytes / 2 ** 30) : 0,
	};
}
