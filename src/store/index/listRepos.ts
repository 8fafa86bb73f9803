import { readCatalog } from "../catalog/readCatalog.js";
import type { RepoType } from "../StoreTypes.js";

export interface ListReposParams {
	/** The store directory. */
	storeDir: string;
}

/** A repo as `modelfs ls` shows it. */
export interface RepoSummary {
	type: RepoType;
	name: string;
	refs: Record<string, string>;
	snapshots: Array<{ commit: string; refs: string[]; files: number; bytes: number }>;
	/** Bytes of all snapshots' files, counting a file shared by two snapshots once per snapshot. */
	bytes: number;
}

/**
 * Repos, their refs and snapshots, from the newest published catalog (so it
 * works on read-only nodes). An empty list for a store with no snapshots.
 */
export async function listRepos(params: ListReposParams): Promise<RepoSummary[]> {
	const catalog = await readCatalog({ storeDir: params.storeDir });
	if (!catalog) return [];
	return catalog.repos.map((r) => {
		const snapshots = r.snapshots.map((s) => ({
			commit: s.commit,
			refs: Object.entries(r.refs)
				.filter(([, c]) => c === s.commit)
				.map(([ref]) => ref)
				.sort(),
			files: s.files.length,
			bytes: s.files.reduce((n, f) => n + f.size, 0),
		}));
		return { type: r.type, name: r.name, refs: r.refs, snapshots, bytes: snapshots.reduce((n, s) => n + s.bytes, 0) };
	});
}
