/**
 * The tree a view shows, built by a layout (src/view/buildViewTree.ts) from
 * the catalog and serialised for the daemon by src/view/writeViewImage.ts.
 * The root is a ViewDir named "".
 */
export type ViewNode = ViewDir | ViewFile | ViewSymlink;

export interface ViewDir {
	kind: "dir";
	name: string;
	/** Sorted by name (byte order of the UTF-8 names); names are unique. */
	children: ViewNode[];
}

/**
 * A regular file. Its bytes come either from a store blob (`blake3`) or, for
 * small synthetic files such as `refs/main` of the Hugging Face layout, from
 * `content` carried in the view image itself. Exactly one of the two is set;
 * check `content !== undefined` to tell them apart.
 */
export type ViewFile = ViewBlobFile | ViewInlineFile;

/** A file served from the store: the daemon opens objects/<2 hex>/<64 hex>. */
export interface ViewBlobFile {
	kind: "file";
	name: string;
	size: number;
	/** BLAKE3 hex of the blob; the daemon opens objects/<2 hex>/<64 hex>. */
	blake3: string;
	content?: undefined;
	/**
	 * A weight file (a path showing it matched the view's prefetch patterns):
	 * the daemon reads its blob ahead into the page cache when it is opened.
	 * @default false
	 */
	prefetch?: boolean;
}

/**
 * A file whose bytes live in the view image (no blob behind it). Used for
 * `refs/<branch>` (the commit sha, no newline), which has no blob in the
 * store; kept small (the layouts only make files of at most a few hundred
 * bytes). The daemon serves these bytes itself (no passthrough: there is no
 * backing file).
 */
export interface ViewInlineFile {
	kind: "file";
	name: string;
	/** Equals Buffer.byteLength(content, "utf8"). */
	size: number;
	blake3?: undefined;
	/** The file's bytes, UTF-8. */
	content: string;
	prefetch?: undefined;
}

export interface ViewSymlink {
	kind: "symlink";
	name: string;
	/** Relative target, e.g. ../../blobs/<etag>. */
	target: string;
}

/**
 * An entry of the catalog a view leaves out because it cannot show it (a
 * name over 255 bytes, `..`, NUL, one blob name for two contents): the rest
 * of the view is built and served; the skip is counted and logged.
 */
export interface ViewSkip {
	/** `org/name` (datasets: `datasets/org/name`). */
	repo: string;
	/** The snapshot, when the entry is one of its files or refs. */
	commit?: string;
	/** The file path or ref in the snapshot, when it is one entry of it. */
	path?: string;
	/** Why it cannot be shown. */
	reason: string;
}
