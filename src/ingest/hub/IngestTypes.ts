/**
 * Shapes shared by the hub ingest modules (src/ingest, except the local
 * imports in src/ingest/import*).
 */
import type { RepoId } from "../../store/StoreTypes.js";

/** One file of a pinned hub snapshot, from the tree listing alone. */
export interface RemoteFile {
	/** Relative path in the repo, checked safe (no `..`, not absolute). */
	path: string;
	size: number;
	/** Stored through LFS: `sha256` is its content digest. */
	lfs: boolean;
	/** sha256 of the content (LFS files only; the hub gives no sha256 for others). */
	sha256: string | null;
	/** git blob sha1 of the content (non-LFS files only; for LFS files git holds a pointer). */
	sha1: string | null;
	/** The blob name in a Hugging Face cache: the sha256 for LFS files, the git sha1 otherwise. */
	etag: string;
}

/** A repo pinned at one commit, with its file list. */
export interface RemoteSnapshot {
	repo: RepoId;
	/** What the user asked for (branch, tag or sha). */
	revision: string;
	/** The 40-hex commit the revision pointed at. */
	commit: string;
	files: RemoteFile[];
}

/** The snapshot an ingest is about: the first fields of its summary and of its dry run. */
export interface IngestTarget {
	repo: string;
	type: RepoId["type"];
	revision: string;
	commit: string;
	/** Files in the snapshot (after --include/--exclude). */
	files: number;
	totalBytes: number;
}

/** What `modelfs ingest` did (also its `--json` output). */
export interface IngestSummary extends IngestTarget {
	/** Files fetched (in full or the rest of a partial) this run. */
	downloadedFiles: number;
	/** Bytes received from the hub this run. */
	downloadedBytes: number;
	/** Bytes of partial downloads from an earlier run that were continued, not fetched again. */
	resumedBytes: number;
	/** Files whose content the store already had. */
	dedupedFiles: number;
	dedupedBytes: number;
	seconds: number;
	/** downloadedBytes / seconds. */
	bytesPerSecond: number;
	/** Refs set to the commit (the revision, when it is a branch or tag). */
	refs: Record<string, string>;
}

/** `modelfs ingest --dry-run`: sizes from the hub's metadata alone. */
export interface IngestDryRun extends IngestTarget {
	/** Files and bytes the store lacks: what an ingest would fetch (before resuming partials). */
	downloadFiles: number;
	downloadBytes: number;
	/** Files and bytes already in the store (deduplicated, not fetched). */
	inStoreFiles: number;
	inStoreBytes: number;
	/** Bytes of partial downloads an ingest would continue from. */
	partialBytes: number;
}
