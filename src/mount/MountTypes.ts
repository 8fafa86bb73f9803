/**
 * Shapes shared by the mount code, `modelfs status` and `modelfs stats`.
 * Files of one mount live in its runtime folder (native/HOLDER.md):
 * `<run root>/<16 hex of sha256(mountpoint)>/`.
 */

/** `mount.json` in a mount's runtime folder, written by startMount. */
export interface MountRecord {
	format: 1;
	mountpoint: string;
	storeDir: string;
	objectsDir: string;
	/** Layout options the view was built with (layout, prefix, files, template, repos). */
	view: Record<string, unknown>;
	/** Catalog generation the view was built from, or null for an empty store. */
	catalogGeneration: number | null;
	/** Passthrough was asked for (the daemon may still fall back; see MountStats.passthrough). */
	passthroughRequested: boolean;
	files: number;
	fileBytes: number;
	startedAt: string;
}

/** One modelfs view found in /proc/self/mountinfo. */
export interface ModelfsMount {
	mountpoint: string;
	/** Mount ID (first field of mountinfo). */
	mountId: number;
	/** Per-mount options, e.g. `ro,nosuid,nodev,relatime`. */
	options: string;
	runtimeDir: string;
	holderPid: number | null;
	daemonPid: number | null;
	/**
	 * `live`: the holder or the daemon runs; `dead`: neither runs (the mount
	 * answers ENOTCONN); `unknown`: no runtime folder for it (mounted by
	 * another run root).
	 */
	state: "live" | "dead" | "unknown";
	/** mount.json, or null when missing. */
	record: MountRecord | null;
}

/** The daemon's counters (stats file, native/STATS.md). */
export interface MountStats {
	startedAt: string;
	holderPid: number;
	daemonPid: number;
	/** Reads go through FUSE passthrough (the kernel reads the blob itself). */
	passthrough: boolean;
	/** 1 + how many times the holder restarted a dead daemon. */
	daemonStarts: number;
	protocolMinor: number;
	threads: number;
	opens: number;
	passthroughOpens: number;
	fallbackOpens: number;
	fallbackReads: number;
	fallbackBytes: number;
	/** Blobs that could not be opened or read (each logged with its path). */
	blobErrors: number;
	backingOpenFailures: number;
	/** Passthrough backing ids open now (one per open inode). */
	backingIdsOpen: number;
	negativeLookups: number;
	interrupts: number;
	/** Requests a restarted daemon saw again and had already handled. */
	resentDuplicates: number;
	/** Requests by opcode name (LOOKUP, OPEN, ...). */
	requests: Record<string, number>;
	/** Error replies by errno name (ENOENT, EIO, ...). */
	errors: Record<string, number>;
	latency: {
		/** Upper bounds of the buckets in seconds; the last is Infinity. */
		bucketsSeconds: number[];
		/** Requests per bucket (not cumulative). */
		counts: number[];
		sumSeconds: number;
		count: number;
	};
}
