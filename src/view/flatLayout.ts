import type { CatalogRepo } from "../store/StoreTypes.js";
import { catalogSegments } from "./catalogSegments.js";
import { newestSnapshot } from "./newestSnapshot.js";
import type { ViewTreeBuilder } from "./ViewTreeBuilder.js";

export interface FlatLayoutParams {
	/** The repos to show (already filtered). */
	repos: readonly CatalogRepo[];
	/** Where the nodes go. */
	builder: ViewTreeBuilder;
	/** Segments of the view prefix. */
	prefix: readonly string[];
}

/**
 * One folder per repo with the files of its newest revision as regular
 * files: `org/name/<path>` for models and `datasets/org/name/<path>` for
 * datasets, for backends started with `--model /models/org/name`.
 */
export function flatLayout(params: FlatLayoutParams): void {
	const { builder, prefix } = params;
	for (const repo of params.repos) {
		const newest = newestSnapshot({ repo });
		if (newest === null) continue;
		const root = [...prefix, ...(repo.type === "dataset" ? ["datasets"] : []), ...catalogSegments({ value: repo.name, what: "repo name" })];
		builder.addDir(root);
		const where = `${repo.name}@${newest.snapshot.commit}`;
		for (const file of newest.snapshot.files) {
			const segments = catalogSegments({ value: file.path, what: `file path in ${where}` });
			builder.addLeaf([...root, ...segments], { kind: "file", name: segments[segments.length - 1], size: file.size, blake3: file.blake3 });
		}
	}
}
