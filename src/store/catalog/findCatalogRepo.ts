import { UsageError } from "../../errors.js";
import type { CatalogRepo, RepoType } from "../StoreTypes.js";

/** Finds the catalog repo of that name (UsageError REPO_NOT_FOUND if none). */
export function findCatalogRepo(repos: CatalogRepo[], name: string, type: RepoType | undefined, storeDir: string): CatalogRepo {
	const matches = repos.filter((r) => r.name === name && (type === undefined || r.type === type));
	const repo = matches.find((r) => r.type === "model") ?? matches[0];
	if (!repo) {
		throw new UsageError("REPO_NOT_FOUND", `${type ?? "repo"} ${name} is not in the store ${storeDir}`, { hint: "`modelfs ls` lists what the store holds" });
	}
	return repo;
}
