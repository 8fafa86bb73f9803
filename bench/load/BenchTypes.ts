/** The shapes of one `npm run bench` run: what bench/results/<date>-<host>.json holds. */

export type RowId = "direct" | "passthrough" | "passthrough-prefetch" | "daemon" | "overlay-view" | "overlay-view-prefetch" | "overlay-plain" | "fuse-native";
/**
 * seq, pread16, chunks8, mmap, loader: the access patterns of issue 7.
 * backend: a backend's load (hub path, mmap, each tensor copied out, then
 * worked on); backend-io: the same without the work.
 */
export type PatternId = "seq" | "pread16" | "chunks8" | "mmap" | "loader" | "backend" | "backend-io";
export type Temperature = "cold" | "warm";
/** plain: the store's device as it is; throttled: the same device through a blkio cgroup limit (`--throttle-iops`). */
export type DiskId = "plain" | "throttled";

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

/**
 * What one run cost on the store's block device, from /sys/block/<dev>/stat
 * read by loadgen right at the start and end of its timed part. The counters
 * are the whole device's: another process reading at the same time adds to them.
 */
export interface DeviceIo {
	/** Read requests completed. */
	requests: number;
	/** Reads merged into other requests before they were issued. */
	merges: number;
	/** Bytes read (sectors x 512). */
	bytes: number;
	/** Milliseconds the requests spent in the device (summed over requests in flight). */
	ms: number;
}

/** One timed run of one pattern on one row. */
export interface RunSample {
	/** Round (0 to repeat - 1). */
	round: number;
	/** Place of this run in the whole run's sequence of timed runs, from 0: shows ordering effects. */
	seq: number;
	gbps: number;
	seconds: number;
	/** Null when the store is on no block device (tmpfs). */
	device: DeviceIo | null;
	/** getrusage of the loader over the timed part: faults that waited for the disk. */
	majorFaults: number;
	minorFaults: number;
	/** backend patterns: time spent copying tensors out of the mapping (its faults included) and in the work. */
	copySeconds?: number;
	workSeconds?: number;
	/** Cold runs: bytes of these files still cached (mincore of the blob, plain copy, daemon-served file) right before. */
	residentBeforeBytes?: number;
	/** Throttled-volume runs: what the blkio cgroup of the loader and the daemon was charged for (bios). */
	cgroup?: { ios: number; bytes: number };
}

/** One access pattern on one row, page cache cold or warm, on the plain or the throttled device. */
export interface LoadResult {
	row: RowId;
	pattern: PatternId;
	temp: Temperature;
	disk: DiskId;
	/** Bytes read per run. */
	bytes: number;
	/** Median GB/s of `runs`. */
	gbps: number;
	minGbps: number;
	maxGbps: number;
	/** Every timed run, in the order they ran. */
	runs: RunSample[];
	/** Median gbps / median gbps of the reference row for the same pattern, temperature and disk (direct). */
	ratio: number | null;
	/** Medians over the runs of the device figures; avgRequestBytes = bytes / requests. Null without a block device. */
	device: { requests: number; bytes: number; avgRequestBytes: number } | null;
	/** Median major page faults of the loader per GiB read (mmap and backend patterns fault; read patterns do not). */
	majorFaultsPerGiB: number;
	/** Cold runs: the most bytes still cached right before any run. */
	residentBeforeBytes?: number;
	/** Verify runs (--quick, --verify): same bytes as the direct read. */
	checksumOk?: boolean;
}

/** The backend pattern split into its parts: how much of the I/O the work hides. */
export interface BackendSplit {
	row: RowId;
	temp: Temperature;
	disk: DiskId;
	/** Median seconds of the whole load (resolve, map, copy, work), of the same without the work, and of the work alone. */
	totalSeconds: number;
	ioSeconds: number;
	workSeconds: number;
	/**
	 * (io + work - total) / min(io, work): 0 when reading and working take
	 * turns, 1 when the shorter one is hidden under the longer, below 0 when
	 * the whole took longer than the two parts one after the other (the
	 * reading slowed down between tensors). Null when either part is too
	 * short to tell (under 2% of the total).
	 */
	overlap: number | null;
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

/** How the runs were made: what "cold" means and in which order rows ran. */
export interface BenchMethod {
	/** drop_caches: `sync; echo 3 > /proc/sys/vm/drop_caches` (the whole machine) before every cold run. */
	cold: "drop_caches";
	/** Timed runs per row and pattern: cold per round, warm per round. */
	coldRunsPerRound: number;
	warmRunsPerRound: number;
	/**
	 * Rows and patterns are interleaved: each round runs every pattern, and
	 * every row within it, in the order of a Williams square's next row, so
	 * each row takes another place and follows another row every round.
	 */
	order: "williams";
	/** The figure reported per row and pattern. */
	statistic: "median";
	/** The store's block device the device figures come from, e.g. { name: "vda", majorMinor: "254:0" }; null on tmpfs. */
	device: { name: string; majorMinor: string; statPath: string } | null;
	/** Seconds spent in sync + drop_caches over the whole run. */
	dropSeconds: number;
	/**
	 * Free page reporting to the host held back for the run (page_reporting
	 * min_free_ms, and what it was), so every cold run starts from memory the
	 * host still backs; null: not held (no such knob, or --keep-page-reporting).
	 * Absent in reports from before it was held.
	 */
	pageReporting?: { minFreeMs: number; was: number } | null;
}

/** The slow shared volume (`--throttle-iops`, `--throttle-bps`). */
export interface ThrottleInfo {
	/** The blkio cgroup made for the run (v1), removed at the end. */
	cgroup: string;
	/** The whole disk the limit is set on (blkio limits whole disks, not partitions). */
	majorMinor: string;
	readIops: number | null;
	readBps: number | null;
	/** The disk's read_ahead_kb during the run (`--read-ahead-kb`), and what it was before. */
	readAheadKb?: number;
	readAheadKbOfDisk?: number;
	/** Who is in the cgroup during throttled runs. */
	members: string[];
}

/** The per-byte work of the backend pattern. */
export interface BackendWork {
	/** Bytes per second the work is paced to (a hash of every byte, then a spin), standing in for the copy to the GPU. */
	rateBytesPerSecond: number;
	/** The work alone on memory (no file I/O), median seconds over the runs, and its runs. */
	aloneSeconds: number;
	aloneRuns: number[];
}

export interface BenchReport {
	format: 2;
	/** "load": the main bench (every row, pattern, cold and warm); "volume": plain vs throttled device, cold (`--throttle-iops`). */
	kind: "load" | "volume";
	/** ISO time the run started. */
	date: string;
	host: string;
	kernel: string;
	cpu: string;
	cores: number;
	memBytes: number;
	quick: boolean;
	repeat: number;
	method: BenchMethod;
	/** Bytes of the safetensors shards read by every pattern. */
	sizeBytes: number;
	weightFiles: number;
	/** Whether `modelfs mount` has `--prefetch on|off` (issue 14 part 2); without it the prefetch rows are not measured. */
	prefetch: { available: boolean; note?: string };
	throttle: ThrottleInfo | null;
	work: BackendWork | null;
	rows: RowInfo[];
	patterns: PatternInfo[];
	load: LoadResult[];
	backend: BackendSplit[];
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
