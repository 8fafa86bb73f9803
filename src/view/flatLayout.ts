import type { CatalogRepo } from "../store/StoreTypes.js";
import { catalogSegments } from "./catalogSegments.js";
import { newestSnapshot } from "./newestSnapshot.js";
import { skipUnshowable } from "./skipUnshowable.js";
import type { ViewSkip } from "./ViewTree.js";
import type { ViewTreeBuilder } from "./ViewTreeBuilder.js";

export interface FlatLayoutParams {
	/** The repos to show (already filtered). */
	repos: readonly CatalogRepo[];
	/** Where the nodes go. */
	builder: ViewTreeBuilder;
	/** Segments of the view prefix. */
	prefix: readonly string[];
	/** Told of every entry the view cannot show (and leaves out). */
	/** Whether the file at this repo path is one the daemon reads ahead on open. */
	prefetch: (path: string) => boolean;
	onSkip: (skip: ViewSkip) => void;
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
		const label = `${repo.type === "dataset" ? "datasets/" : ""}${repo.name}`;
		let root: string[] | null = null;
		skipUnshowable({
			at: { repo: label },
			onSkip: params.onSkip,
			add: () => {
				root = [...prefix, ...(repo.type === "dataset" ? ["datasets"] : []), ...catalogSegments({ value: repo.name, what: "repo name" })];
				builder.addDir(root);
			},
		});
		if (root === null) continue;
		const dir: string[] = root;
		const commit = newest.snapshot.commit;
		const where = `${repo.name}@${commit}`;
		for (const file of newest.snapshot.files) {
			skipUnshowable({
				at: { repo: label, commit, path: file.path },
				onSkip: params.onSkip,
				add: () => {
					const segments = catalogSegments({ value: file.path, what: `file path in ${where}` });
					builder.addLeaf([...dir, ...segments], { kind: "file", name: segments[segments.length - 1], size: file.size, blake3: file.blake3, prefetch: params.prefetch(file.path) });
				},
			});
		}
	}
}
