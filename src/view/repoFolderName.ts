import type { RepoType } from "../store/StoreTypes.js";

export interface RepoFolderNameParams {
	type: RepoType;
	/** `org/name` or `name`. */
	name: string;
}

/**
 * The folder huggingface_hub gives a repo in its cache:
 * `models--org--name` or `datasets--org--name` (every `/` becomes `--`).
 */
export function repoFolderName(params: RepoFolderNameParams): string {
	const kind = params.type === "dataset" ? "datasets" : "models";
	return [kind, ...params.name.split("/")].join("--");
}
