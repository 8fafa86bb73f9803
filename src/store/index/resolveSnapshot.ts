import { UsageError } from "../../errors.js";
import { findCatalogRepo } from "../catalog/findCatalogRepo.js";
import { readCatalog } from "../catalog/readCatalog.js";
import type { RepoType, SnapshotFile } from "../StoreTypes.js";

export interface ResolveSnapshotParams {
	/** The store directory. */
	storeDir: string;
	/** `org/name`. */
	name: string;
	/** Limit to one type; by default a model, else a dataset of that name. */
	type?: RepoType;
	/**
	 * A ref name, a commit or a unique commit prefix (7+ chars).
	 * @default "main", else the only snapshot
	 */
	revision?: string;
}

export interface ResolvedSnapshot {
	type: RepoType;
	name: string;
	commit: string;
	refs: string[];
	files: SnapshotFile[];
	bytes: number;
}

/** Resolves `repo[@revision]` against the newest catalog to one snapshot. */
export async function resolveSnapshot(params: ResolveSnapshotParams): Promise<ResolvedSnapshot> {
	const catalog = await readCatalog({ storeDir: params.storeDir });
	const repo = findCatalogRepo(catalog?.repos ?? [], params.name, params.type, params.storeDir);
	let commit: string | undefined;
	const rev = params.revision;
	if (rev === undefined) {
		commit = repo.refs.main ?? (repo.snapshots.length === 1 ? repo.snapshots[0].commit : undefined);
		if (!commit) {
			throw new UsageError("REVISION_REQUIRED", `${repo.name} has ${repo.snapshots.length} snapshots and no main ref`, {
				hint: `name one: ${repo.snapshots.map((s) => `${repo.name}@${s.commit.slice(0, 12)}`).join(", ")}`,
			});
		}
	} else if (repo.refs[rev] !== undefined) commit = repo.refs[rev];
	else {
		const matches = repo.snapshots.filter((s) => s.commit === rev || (rev.length >= 7 && s.commit.startsWith(rev)));
		if (matches.length > 1) throw new UsageError("REVISION_AMBIGUOUS", `${repo.name}@${rev} matches ${matches.length} commits`, { hint: "give more characters of the commit" });
		commit = matches[0]?.commit;
	}
	const snap = repo.snapshots.find((s) => s.commit === commit);
	if (!snap) {
		throw new UsageError("REVISION_NOT_FOUND", `${repo.name}@${rev ?? commit} is not in the store`, { hint: `\`modelfs ls\` lists the revisions of ${repo.name}` });
	}
	return {
		type: repo.type,
		name: repo.name,
		commit: snap.commit,
		refs: Object.entries(repo.refs)
			.filter(([, c]) => c === snap.commit)
			.map(([r]) => r),
		files: snap.files,
		bytes: snap.files.reduce((n, f) => n + f.size, 0),
	};
}
