import { UsageError } from "../errors.js";
import type { CatalogRepo } from "../store/StoreTypes.js";

export interface SelectReposParams {
	repos: readonly CatalogRepo[];
	/**
	 * Repo ids to keep: `org/name` (a model or dataset of that name),
	 * `models/org/name` or `datasets/org/name` for one type only.
	 * Undefined or empty keeps every repo.
	 */
	only?: readonly string[];
}

/**
 * The repos a view shows. Every id asked for must match a repo of the
 * catalog: a typo would otherwise give a view that silently lacks the model
 * a backend then tries to download.
 */
export function selectRepos(params: SelectReposParams): CatalogRepo[] {
	const { repos, only } = params;
	if (only === undefined || only.length === 0) return [...repos];
	const keep = new Set<CatalogRepo>();
	for (const id of only) {
		if (typeof id !== "string" || id.trim() === "") throw new TypeError("repos: every entry must be a non-empty repo id");
		const m = /^(models|datasets)\/(.+\/.+)$/.exec(id);
		const type = m === null ? undefined : m[1] === "datasets" ? "dataset" : "model";
		const name = m === null ? id : m[2];
		const matches = repos.filter((r) => r.name === name && (type === undefined || r.type === type));
		if (matches.length === 0) {
			throw new UsageError("VIEW_REPO_NOT_FOUND", `repo ${id} is not in the store's catalog`, {
				hint: `ingest it first (modelfs ingest ${name}${type === "dataset" ? " --repo-type dataset" : ""}) or check the name with \`modelfs ls\``,
			});
		}
		for (const r of matches) keep.add(r);
	}
	return repos.filter((r) => keep.has(r));
}
