import type { CatalogRepo } from "../store/StoreTypes.js";

export interface NewestSnapshotParams {
	repo: CatalogRepo;
}

/** The snapshot a "one revision per repo" layout shows, and the ref it came from. */
export interface NewestSnapshot {
	/** The ref followed (`main`, `master`, ...) or null when no ref points at a stored snapshot. */
	ref: string | null;
	snapshot: CatalogRepo["snapshots"][number];
}

/**
 * Picks the revision a flat layout shows for a repo: the snapshot `main`
 * points at (what `from_pretrained("org/name")` loads), else `master`, else
 * the only other ref, else the snapshot stored last (the catalog lists
 * snapshots in the order they were stored). Returns null for a repo with no
 * snapshot.
 */
export function newestSnapshot(params: NewestSnapshotParams): NewestSnapshot | null {
	const { repo } = params;
	const byCommit = new Map(repo.snapshots.map((s) => [s.commit, s]));
	for (const ref of ["main", "master"]) {
		const commit = repo.refs[ref];
		const snapshot = commit === undefined ? undefined : byCommit.get(commit);
		if (snapshot !== undefined) return { ref, snapshot };
	}
	const refs = Object.entries(repo.refs).filter(([, commit]) => byCommit.has(commit));
	if (refs.length === 1) return { ref: refs[0][0], snapshot: byCommit.get(refs[0][1])! };
	const last = repo.snapshots[repo.snapshots.length - 1];
	return last === undefined ? null : { ref: null, snapshot: last };
}
