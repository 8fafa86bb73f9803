import { IndexError, UsageError } from "../../errors.js";
import { publishCatalog } from "../catalog/publishCatalog.js";
import type { Store } from "../Store.js";
import type { RepoId } from "../StoreTypes.js";
import type { RepoKey, SnapshotKey } from "./StoreIndex.js";

export interface RemoveSnapshotParams {
	/** A store open for writing. */
	store: Store;
	repo: RepoId;
	/**
	 * A commit (full or a unique prefix of at least 7 hex) or a ref name; the
	 * snapshot and every ref pointing at it are removed. Without it the whole
	 * repo goes.
	 */
	revision?: string;
}

/**
 * Removes a snapshot (or a whole repo) from the index in one transaction,
 * bumps the generation and publishes the catalog. Blobs stay until `gc`.
 * Returns the commits removed; UsageError REPO_NOT_FOUND / REVISION_NOT_FOUND
 * when there is nothing to remove.
 */
export async function removeSnapshot(params: RemoveSnapshotParams): Promise<{ generation: number; removed: string[] }> {
	const { store, repo } = params;
	const index = store?.index;
	if (!store || store.readOnly || !index) throw new IndexError("INDEX_READ_ONLY", `cannot remove ${repo?.name}: the store is open read-only`);
	const repoKey: RepoKey = [repo.type, repo.name];
	const repoValue = index.repos.get(repoKey);
	const commits: string[] = [];
	for (const key of index.snapshots.getKeys({ start: [repo.type, repo.name], end: [repo.type, repo.name, "\uffff"] })) {
		if (key[0] === repo.type && key[1] === repo.name) commits.push(key[2]);
	}
	if (!repoValue && commits.length === 0) {
		throw new UsageError("REPO_NOT_FOUND", `${repo.type} ${repo.name} is not in the store ${store.dir}`, { hint: "`modelfs ls` lists what the store holds" });
	}
	let removed = commits;
	if (params.revision !== undefined) {
		const rev = params.revision;
		const viaRef = repoValue?.refs[rev];
		const matches = viaRef !== undefined ? commits.filter((c) => c === viaRef) : commits.filter((c) => c === rev || (rev.length >= 7 && c.startsWith(rev)));
		if (matches.length === 0) throw new UsageError("REVISION_NOT_FOUND", `${repo.name}@${rev} is not in the store`, { hint: `\`modelfs info ${repo.name}\` lists its revisions` });
		if (matches.length > 1) throw new UsageError("REVISION_AMBIGUOUS", `${repo.name}@${rev} matches ${matches.length} commits`, { hint: "give more characters of the commit" });
		removed = matches;
	}
	let generation = 0;
	await index.env.transaction(() => {
		for (const commit of removed) index.snapshots.remove([repo.type, repo.name, commit] as SnapshotKey);
		const left = commits.filter((c) => !removed.includes(c));
		if (left.length === 0) index.repos.remove(repoKey);
		else if (repoValue) {
			const refs = Object.fromEntries(Object.entries(repoValue.refs).filter(([, c]) => !removed.includes(c)));
			index.repos.put(repoKey, { refs });
		}
		generation = index.generation() + 1;
		index.meta.put("generation", generation);
	});
	// Durable before any reader can see it in a catalog.
	await index.env.flushed;
	await publishCatalog({ store });
	return { generation, removed };
}
