import { UsageError } from "../../errors.js";
import type { RepoId } from "../StoreTypes.js";

const REPO_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/;

/** Throws UsageError (REPO_ID_INVALID) unless `repo` is a type plus `org/name` the HF cache layout can hold. */
export function validateRepoId(repo: RepoId): void {
	if (repo?.type !== "model" && repo?.type !== "dataset") throw new UsageError("REPO_ID_INVALID", `repo type must be "model" or "dataset", got ${JSON.stringify(repo?.type)}`);
	if (typeof repo.name !== "string" || !REPO_NAME.test(repo.name) || repo.name.includes("--") || repo.name.includes("..") || repo.name.length > 200) {
		throw new UsageError("REPO_ID_INVALID", `invalid repo id ${JSON.stringify(repo?.name)}`, {
			hint: "use org/name: letters, digits, '.', '_', '-', no '--' or '..'",
		});
	}
}
