import { UsageError } from "../../errors.js";
import type { RepoType } from "../StoreTypes.js";
import { validateRepoId } from "./validateRepoId.js";
import { validateRevision } from "./validateRevision.js";

/**
 * Parses `org/name[@revision]` as typed on the command line. A leading
 * `datasets/` selects a dataset (as in hub URLs).
 */
export function parseRepoSpec(spec: string, type?: RepoType): { name: string; type: RepoType | undefined; revision: string | undefined } {
	if (typeof spec !== "string" || spec === "") throw new UsageError("REPO_ID_INVALID", "a repo id is required (org/name[@revision])");
	let rest = spec;
	let t = type;
	if (rest.startsWith("datasets/")) {
		t = "dataset";
		rest = rest.slice("datasets/".length);
	}
	const at = rest.indexOf("@");
	const name = at < 0 ? rest : rest.slice(0, at);
	const revision = at < 0 ? undefined : rest.slice(at + 1);
	validateRepoId({ type: t ?? "model", name });
	if (revision !== undefined) validateRevision(revision);
	return { name, type: t, revision };
}
