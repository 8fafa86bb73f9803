/** The shapes of one `npm run bench` run: what bench/results/<date>-<host>.json holds. */

export type RowId = "direct" | "passthrough" | "daemon" | "overlay-view" | "overlay-plain" | "fuse-native";
export type PatternId = "seq" | "pread16" | "chunks8" | "mmap" | "loader";
export type Temperature = "cold" | "warm";

/** One way of reaching the same files (a row of the tables). */
export interface RowInfo {
	id: RowId;
	label: string;
	available: boolean;
	/** Why the row did not run and what to do, or how it was mounted. */
	note?: string;
}

export interface PatternInfo {
	id: PatternId;
	label: string;
}

/** One access pattern on one row, page cache cold or warm. */
export interface LoadResult {
	row: RowId;
	pattern: PatternId;
	temp: Temperature;
	/** Bytes read per run. */
	bytes: number;
	/** The best of `runs`: other jobs on the machine only slow a run down. */
	gbps: number;
	/** gbps of every run, in order (cold: one per round; warm: three per round; fuse-native: one of each in all). */
	runs: number[];
	/** gbps / gbps of the direct row for the same pattern and temperature. */
	ratio: number | null;
	/** Cold runs: bytes still cached (blob, plain copy, daemon-served file) right before the run. */
	residentBeforeBytes?: number;
	/** Verify runs (--quick, --verify): same bytes as the direct read. */
	checksumOk?: boolean;
}

/** Page cache held after one cold sequential read of every weight file. */
export interface MemoryResult {
	row: RowId;
	bytesRead: number;
	/** Growth of `Cached` in /proc/meminfo (whole machine: other processes add noise). */
	meminfoCachedDelta: number;
	/** Growth of mincore counts of the blob, the plain copy and the daemon-served file. */
	mincoreDelta: number;
	perByteMeminfo: number;
	perByteMincore: number;
}

/** stat and readdir over the view of many small files. */
export interface MetadataResult {
	row: RowId | "plain";
	label: string;
	/** Paths stat(2)ed (snapshot paths: each follows a symlink). */
	statCount: number;
	/** Entries the readdir walk saw (dirs, files, symlinks). */
	walkEntries: number;
	statFirstMs: number;
	statAgainMs: number;
	walkFirstMs: number;
	walkAgainMs: number;
}

/** From starting a mount command to the first byte read through it. */
export interface MountTiming {
	what: string;
	/** The mount command (or server start) until it returned / said ready. */
	mountMs: number;
	/** open + read(1 byte) of one file right after. */
	firstByteMs: number;
	totalMs: number;
}

export interface TargetCheck {
	what: string;
	measured: number | null;
	goal: string;
	ok: boolean | null;
}

export interface BenchReport {
	format: 1;
	/** ISO time the run started. */
	date: string;
	host: string;
	kernel: string;
	cpu: string;
	cores: number;
	memBytes: number;
	quick: boolean;
	repeat: number;
	/** Bytes of the safetensors shards read by every pattern. */
	sizeBytes: number;
	weightFiles: number;
	rows: RowInfo[];
	patterns: PatternInfo[];
	load: LoadResult[];
	memory: MemoryResult[];
	metadata: { files: number; rows: MetadataResult[] };
	mount: MountTiming[];
	targets: TargetCheck[];
	/** Whole run, set-up included. */
	durationSeconds: number;
	/** Something did not work: a row that could not be set up, a read that failed or served other bytes. */
	failures: string[];
	/** Worth knowing, not broken: a cache that stayed warm, an overlay mounted without the CLI. */
	warnings: string[];
}
