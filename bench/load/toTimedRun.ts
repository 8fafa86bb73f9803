import type { TimedRun } from "./measureLoads.js";
import type { LoadgenRead } from "./runLoadgen.js";

/** loadgen's JSON line as one timed run of the bench (GB/s, device figures, faults). */
export function toTimedRun(read: LoadgenRead): TimedRun {
	const seconds = Math.max(read.seconds, 1e-9);
	return {
		bytes: read.bytes,
		seconds,
		gbps: read.bytes / seconds / 1e9,
		device: read.dev ? { requests: read.dev.reads, merges: read.dev.merges, bytes: read.dev.bytes, ms: read.dev.ms } : null,
		majorFaults: read.majflt ?? 0,
		minorFaults: read.minflt ?? 0,
		...(read.copySeconds === undefined ? {} : { copySeconds: read.copySeconds, workSeconds: read.workSeconds ?? 0 }),
		...(read.checksum === undefined ? {} : { checksum: read.checksum }),
	};
}
