/** An overlayfs mount as the kernel reports it in /proc/self/mountinfo. */
export interface OverlayMount {
	/** Where it is mounted (absolute, as in mountinfo). */
	target: string;
	/** lowerdir layers, top first. */
	lower: string[];
	upper: string | null;
	work: string | null;
	/** The mount id (first field of mountinfo), to tell stacked mounts apart. */
	mountId: number;
}

/**
 * What modelfs records for each target it put an overlay on, in
 * `<state dir>/overlay/<hash of target>/overlay.json`, so `down --restore`,
 * `absorb` and `status` find the upper layer even when nothing is mounted.
 */
export interface OverlayState {
	format: 1;
	target: string;
	lower: string;
	upper: string;
	work: string;
	/** ISO time of the last `overlay up`. */
	mountedAt: string;
}

/** What moving one folder's entries into another did. */
export interface MoveResult {
	/** Files, symlinks and other non-folders moved (by rename or copy). */
	files: number;
	/** Bytes of the regular files moved. */
	bytes: number;
	/** Files that were already at the destination with the same content (source dropped). */
	duplicates: number;
	/**
	 * Paths (relative) where the destination held something different: that
	 * older copy was moved under `conflictDir`, never deleted.
	 */
	conflicts: string[];
	/** Overlay whiteouts dropped (only with `dropWhiteouts`). */
	whiteouts: number;
}
