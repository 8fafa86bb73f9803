/**
 * The shapes of `modelfs scan`: one node's report (what its caches hold) and
 * the merge of several nodes' reports (the cluster's storage baseline).
 * Sizes are apparent sizes (st_size) in bytes.
 */

/** A folder that holds a copy of a model. */
export interface ScanCopy {
	/** Absolute path: a `models--org--name` folder of an HF cache, or a plain model folder. */
	path: string;
	kind: "hf-cache" | "folder";
	/** Regular files of this copy (symlinks into its own blobs are not counted again). */
	files: number;
	/** Bytes of those files; a file hard-linked twice counts once. */
	heldBytes: number;
	/** HF caches: the snapshot commits found (sorted); plain folders: []. */
	revisions: string[];
}

/** One model as found on a node, with every copy of it. */
export interface ScanModel {
	/**
	 * `model:org/name`, `dataset:org/name`, or `folder:<path>` for a plain
	 * folder whose files match no hub repo found in the same scan. A plain
	 * folder holding most of a hub repo's bytes takes that repo's id.
	 */
	id: string;
	copies: ScanCopy[];
	/** Bytes held by all copies (distinct files). */
	heldBytes: number;
	/** Bytes of distinct contents: what one shared store would hold for this model. */
	uniqueBytes: number;
	/** heldBytes - uniqueBytes. */
	duplicateBytes: number;
}

/** One distinct content (file bytes) found on a node. */
export interface ScanContent {
	/**
	 * `sha256:<hex>` or `sha1:<hex>` (git blob sha1) when a hub blob name or a
	 * hash proves the content (the blob name's digest first, so nodes that
	 * did not hash name it alike), else `local:<n>` (a file whose size no other
	 * file on the node has: unique there, so never hashed).
	 */
	id: string;
	/** Other digests known for it (a file hashed here also has the digest its twin's blob name gave). */
	aliases: string[];
	size: number;
	/** Distinct files (inodes) on this node holding it. */
	copies: number;
	/** Ids of the models it belongs to. */
	models: string[];
}

export interface ScanTotals {
	/** Distinct model files found (inodes). */
	files: number;
	heldBytes: number;
	/** What one shared store would hold: the bytes of distinct contents. */
	uniqueBytes: number;
	/** heldBytes - uniqueBytes: what deduplication would give back. */
	duplicateBytes: number;
	/** Files read to prove identity (same size, no hub name to compare). */
	hashedFiles: number;
	hashedBytes: number;
}

/** What `modelfs scan --json` prints for one node; `scan --merge` reads these. */
export interface ScanReport {
	format: 1;
	kind: "modelfs-scan";
	node: string;
	/** ISO time the scan ended. */
	scannedAt: string;
	/** The folders given, absolute. */
	dirs: string[];
	totals: ScanTotals;
	/** Sorted by duplicateBytes, largest first. */
	models: ScanModel[];
	contents: ScanContent[];
	/** What was left out, with the reason (`incomplete`, `unreadable`, `broken-symlink`, `modelfs-view`). */
	skipped: Array<{ path: string; reason: string }>;
}

/** One node in a merged report. */
export interface MergedNode {
	node: string;
	scannedAt: string;
	heldBytes: number;
	/** Distinct contents on the node. */
	uniqueBytes: number;
	/** Duplicated within the node. */
	duplicateBytes: number;
	/** Bytes of the node's distinct contents that at least one other node holds too. */
	sharedWithOtherNodesBytes: number;
}

/** One model across nodes. */
export interface MergedModel {
	id: string;
	nodes: Array<{ node: string; copies: number; heldBytes: number }>;
	heldBytes: number;
	/** Distinct contents of the model across all nodes: what one shared store holds for it. */
	uniqueBytes: number;
	duplicateBytes: number;
	/** Part of duplicateBytes that is held on more than one node. */
	crossNodeDuplicateBytes: number;
}

/** What `modelfs scan --merge` prints: the cluster's storage baseline. */
export interface MergedScanReport {
	format: 1;
	kind: "modelfs-scan-merge";
	nodes: MergedNode[];
	models: MergedModel[];
	totals: {
		/** Sum of every node's heldBytes. */
		heldBytes: number;
		/** Distinct contents across all nodes: what one shared store would hold. */
		uniqueBytes: number;
		duplicateBytes: number;
		/** Sum of the nodes' uniqueBytes minus the cluster's: bytes duplicated across nodes. */
		crossNodeDuplicateBytes: number;
		/**
		 * Bytes of `local:` contents (unique on their node, never hashed). They
		 * are never matched across nodes, so duplication may be higher; scan with
		 * `--hash-unnamed` to prove it.
		 */
		unprovenBytes: number;
	};
}
