/**
 * The shapes shared by the store, ingest and view. A digest is always the
 * lowercase hex string at the edges (catalog, CLI, view image) and a 32-byte
 * Buffer inside LMDB keys.
 */

/** `model` repos live under `models--`, `dataset` repos under `datasets--`. */
export type RepoType = "model" | "dataset";

/** A repository as the hub names it: `org/name` (or `name`). */
export interface RepoId {
	type: RepoType;
	/** `org/name`; never contains `--` at the edges or NUL. */
	name: string;
}

/** What the index knows of one stored blob. */
export interface BlobRecord {
	/** 64 lowercase hex: BLAKE3 of the content, the store key. */
	blake3: string;
	size: number;
	/** 64 lowercase hex: sha256 of the content (the LFS oid). */
	sha256: string;
	/** 40 lowercase hex: git blob sha1 (`sha1("blob <size>\0" + bytes)`), or null if not computed. */
	sha1: string | null;
	/** ms since epoch of the last full hash check (`verify`). */
	checkedAt: number;
	/**
	 * Set by putFile / BlobWriter.commit: true when the store already had this
	 * blob and the bytes just written were dropped (dedup).
	 */
	existed?: boolean;
}

/** One file of a snapshot. */
export interface SnapshotFile {
	/** Relative path inside the repo, `/`-separated, no `..`, no leading `/`. */
	path: string;
	blake3: string;
	size: number;
	/**
	 * The name of the blob in a Hugging Face cache: the LFS sha256 (64 hex) for
	 * LFS files, the git blob sha1 (40 hex) otherwise.
	 */
	etag: string;
}

/** A repo at one commit. */
export interface Snapshot {
	repo: RepoId;
	/** 40 hex commit sha (or any revision string for `import --as` folders). */
	commit: string;
	files: SnapshotFile[];
}

/** One repo in the published catalog. */
export interface CatalogRepo {
	type: RepoType;
	name: string;
	/** branch or tag -> commit */
	refs: Record<string, string>;
	snapshots: Array<{ commit: string; files: SnapshotFile[] }>;
}

/**
 * The immutable file `<store>/catalog/<generation>` that reader nodes and
 * views are built from (never from the live LMDB env: see DESIGN.md).
 */
export interface Catalog {
	format: 1;
	generation: number;
	/** ISO time the catalog was written. */
	createdAt: string;
	repos: CatalogRepo[];
}
