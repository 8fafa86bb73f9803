import { Command } from "commander";
import { UsageError } from "../errors.js";
import { findCatalogRepo } from "../store/catalog/findCatalogRepo.js";
import { readCatalog } from "../store/catalog/readCatalog.js";
import { removeSnapshot } from "../store/index/removeSnapshot.js";
import { parseRepoSpec } from "../store/names/parseRepoSpec.js";
import { openStore } from "../store/openStore.js";
import { resolveStoreDir } from "../store/resolveStoreDir.js";

/** `modelfs rm <repo>[@rev]`: removes a snapshot or a whole repo (blobs go at the next gc). */
export function rmCommand(): Command {
	return new Command("rm")
		.description("remove a snapshot (repo@rev) or a whole repo from the store; its blobs are freed by the next `modelfs gc`")
		.argument("<repo>", "org/name[@revision]")
		.option("--repo-type <type>", "model or dataset (default: a model, else a dataset of that name)")
		.option("--wait", "wait for another writer to finish instead of failing")
		.option("--json", "print {repo, type, removed: [commits]} as JSON")
		.option("--store <dir>", "store directory (default: $MODELFS_STORE, else $XDG_DATA_HOME/modelfs)")
		.action(async (spec: string, opts: { store?: string; repoType?: string; wait?: boolean; json?: boolean }) => {
			if (opts.repoType !== undefined && opts.repoType !== "model" && opts.repoType !== "dataset")
				throw new UsageError("USAGE_REPO_TYPE", `--repo-type must be model or dataset, got ${opts.repoType}`);
			const { name, type, revision } = parseRepoSpec(spec, opts.repoType as "model" | "dataset" | undefined);
			const storeDir = resolveStoreDir({ store: opts.store });
			const store = await openStore({ storeDir, write: true, wait: opts.wait });
			try {
				const catalog = await readCatalog({ storeDir });
				const repo = findCatalogRepo(catalog?.repos ?? [], name, type, storeDir);
				const { removed } = await removeSnapshot({ store, repo: { type: repo.type, name: repo.name }, revision });
				if (opts.json) process.stdout.write(`${JSON.stringify({ repo: repo.name, type: repo.type, removed })}\n`);
				else for (const c of removed) process.stdout.write(`removed ${repo.type === "dataset" ? "datasets/" : ""}${repo.name}@${c}\n`);
			} finally {
				await store.close();
			}
		});
}
