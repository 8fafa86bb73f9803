import { UsageError } from "../../errors.js";
import { validateRepoId } from "../../store/names/validateSnapshot.js";
import type { RepoId, RepoType } from "../../store/StoreTypes.js";

export interface ParseRepoArgParams {
	/** What the user typed: `org/name`, `name`, `datasets/org/name` or a hub URL of the repo. */
	repo: string;
	/** `--repo-type`; a `datasets/` prefix or a datasets URL must agree with it. */
	repoType?: string;
}

/**
 * Turns the `<repo>` argument into a RepoId, accepting the spellings people
 * paste (`datasets/org/name`, `https://huggingface.co/org/name`), and throws
 * UsageError (REPO_ID_INVALID) for anything the hub or the cache layout
 * cannot name.
 */
export function parseRepoArg(params: ParseRepoArgParams): RepoId {
	let text = String(params.repo ?? "").trim();
	if (params.repoType !== undefined && params.repoType !== "model" && params.repoType !== "dataset") {
		throw new UsageError("REPO_TYPE_INVALID", `--repo-type must be "model" or "dataset", got ${JSON.stringify(params.repoType)}`);
	}
	let type: RepoType | undefined;
	const url = /^https?:\/\/[^/]+\/(.*)$/.exec(text);
	if (url) text = url[1].replace(/\/(tree|blob|resolve)\/.*$/, "").replace(/\/+$/, "");
	if (text.startsWith("datasets/")) {
		type = "dataset";
		text = text.slice("datasets/".length);
	} else if (text.startsWith("models/")) {
		type = "model";
		text = text.slice("models/".length);
	}
	if (type && params.repoType && type !== params.repoType) {
		throw new UsageError("REPO_TYPE_CONFLICT", `${params.repo} names a ${type} but --repo-type is ${params.repoType}`);
	}
	const repo: RepoId = { type: type ?? (params.repoType as RepoType | undefined) ?? "model", name: text };
	if (text.startsWith("spaces/")) {
		throw new UsageError("REPO_ID_INVALID", `${params.repo} is a Space; modelfs ingests models and datasets`);
	}
	validateRepoId(repo);
	return repo;
}
