import type { Store } from "../Store.js";
import type { RepoId, SnapshotFile } from "../StoreTypes.js";
import type { SnapshotKey } from "./StoreIndex.js";

export interface MergeSnapshotFilesParams {
	/** An open store with its index. */
	store: Store;
	repo: RepoId;
	commit: string;
	/** Files to add to (or replace by path in) the stored snapshot of repo@commit. */
	files: SnapshotFile[];
}

/**
 * The file list repo@commit has once `files` are merged into what the index
 * holds for it, as commitSnapshot merges them (a new path replaces an old
 * one; an old file where a new folder is, or the reverse, is dropped), sorted
 * by path. `files` alone when nothing is stored. An ingest with
 * --include/--exclude uses it to compare the snapshot it adds to with the
 * stored one, so a run that adds nothing changes nothing.
 */
export function mergeSnapshotFiles(params: MergeSnapshotFilesParams): SnapshotFile[] {
	if (!params?.store) throw new TypeError("mergeSnapshotFiles: `store` is required");
	const key: SnapshotKey = [params.repo.type, params.repo.name, params.commit];
	const old = params.store.index?.snapshots.get(key)?.files ?? [];
	const byPath = new Map<string, SnapshotFile>();
	for (const f of old) byPath.set(f.path, f);
	for (const f of params.files) byPath.set(f.path, { path: f.path, blake3: f.blake3, size: f.size, etag: f.etag });
	const fresh = new Set(params.files.map((f) => f.path));
	const clashes = (f: SnapshotFile): boolean => params.files.some((n) => n.path.startsWith(`${f.path}/`) || f.path.startsWith(`${n.path}/`));
	const files = [...byPath.values()].filter((f) => fresh.has(f.path) || !clashes(f));
	return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
