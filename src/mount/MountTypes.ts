/**
 * Shapes shared by the mount code, `modelfs status` and `modelfs stats`.
 * Files of one mount instance live in its own runtime folder
 * (native/HOLDER.md, "Runtime folders"): `<run root>/instances/<id>/`;
 * `<run root>/<16 hex of sha256(mountpoint)>` is a link to the instance
 * mounted there last.
 */

/** `mount.json` in a mount's runtime folder, written by startMount. */
export interface MountRecord {
	format: 1;
	mountpoint: string;
	storeDir: string;
	objectsDir: string;
	/** Layout options the view was built with (layout, prefix, files, template, repos). */
	view: Record<string, unknown>;
	/** Catalog generation the view was built from (updated by a refresh), or null for an empty store. */
	catalogGeneration: number | null;
	/** When the view last switched to a new image in place (`modelfs refresh`), or absent. */
	refreshedAt?: string;
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
	/** `major:minor` of the mount: it names this connection in every mount namespace. */
	majorMinor: string;
	/** The runtime folder of this mount instance (never shared with another instance). */
	runtimeDir: string;
	holderPid: number | null;
	daemonPid: number | null;
	holderAlive: boolean;
	daemonAlive: boolean;
	/**
	 * `live`: holder and daemon run; `degraded`: one of them runs (the
	 * other is being replaced, or could not be); `parked`: neither runs but
	 * the fds were parked in an fd store (systemd's, or a keeper), which
	 * may still hold the connection: `modelfs up` takes it back; `dead`:
	 * neither runs (the mount answers ENOTCONN); `unknown`: no runtime
	 * folder for it (mounted by another run root).
	 */
	state: "live" | "degraded" | "parked" | "dead" | "unknown";
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
	/** 1 + daemons that took over (after a crash, or a planned restart). */
	daemonStarts: number;
	/** 1 + holders that took over (a planned replacement, or after a crash). */
	holderStarts: number;
	/** The `modelfs-fused` version of the holder and of the daemon now ("" from an older daemon). */
	holderVersion: string;
	daemonVersion: string;
	holderStartedAt: string | null;
	daemonStartedAt: string | null;
	/** `major:minor` of the mount (0:0 until the holder has seen it). */
	majorMinor: string;
	/** Catalog generation and id of the image the daemon serves. */
	generation: number;
	imageId: string;
	/** Images switched to in place, and when the last one was. */
	refreshes: number;
	lastRefreshAt: string | null;
	lastRefreshSeconds: number;
	/** The fds were parked in an fd store (systemd or a keeper). */
	parked: boolean;
	protocolMinor: number;
	threads: number;
	opens: number;
	passthroughOpens: number;
	fallbackOpens: number;
	fallbackReads: number;
	fallbackBytes: number;
	/** Blobs that failed to open or whose size differs from the view's (answered EIO; each logged with its path). */
	blobErrors: number;
	/** Files read ahead on open (--prefetch on). */
	prefetches: number;
	/** Bytes the read-ahead read from the store. */
	prefetchBytes: number;
	/** Bytes the read-ahead found in the page cache already and skipped. */
	prefetchResidentBytes: number;
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
