import type { Store } from "../Store.js";
import type { RepoId, SnapshotFile } from "../StoreTypes.js";
import type { RepoKey, SnapshotKey } from "./StoreIndex.js";

export interface CompareSnapshotParams {
	/** An open store with its index. */
	store: Store;
	repo: RepoId;
	commit: string;
	/** The whole file list repo@commit would have (see mergeSnapshotFiles for a partial one). */
	files: SnapshotFile[];
	/** Refs that would be set (branch or tag -> commit). @default {} */
	refs?: Record<string, string>;
}

/**
 * How a snapshot compares with what the index holds: `same` when the index
 * has exactly these files (path, BLAKE3, size, etag; in any order) for
 * repo@commit and every ref already points where `refs` says, `new` when it
 * has no snapshot of repo@commit (or no index), `changed` otherwise.
 * commitSnapshot bumps the generation that views and readers follow, so a
 * re-ingest that would change nothing does not call it.
 */
export function compareSnapshot(params: CompareSnapshotParams): "same" | "changed" | "new" {
	if (!params?.store) throw new TypeError("compareSnapshot: `store` is required");
	const index = params.store.index;
	const snapKey: SnapshotKey = [params.repo.type, params.repo.name, params.commit];
	const old = index?.snapshots.get(snapKey);
	if (!index || !old) return "new";
	if (old.files.length !== params.files.length) return "changed";
	const byPath = new Map(old.files.map((f) => [f.path, f]));
	for (const f of params.files) {
		const o = byPath.get(f.path);
		if (!o || o.blake3 !== f.blake3 || o.size !== f.size || o.etag !== f.etag) return "changed";
	}
	const repoKey: RepoKey = [params.repo.type, params.repo.name];
	const storedRefs = index.repos.get(repoKey)?.refs ?? {};
	return Object.entries(params.refs ?? {}).every(([ref, c]) => storedRefs[ref] === c) ? "same" : "changed";
}
