import { Command } from "commander";
import { formatBytes } from "../progress/formatBytes.js";
import { listRepos } from "../store/index/listRepos.js";
import { openStore } from "../store/openStore.js";
import { resolveStoreDir } from "../store/resolveStoreDir.js";

/** `modelfs ls`: repos, revisions, file counts and sizes. */
export function lsCommand(): Command {
	return new Command("ls")
		.description("list the repos in the store: revisions, refs, file counts, sizes")
		.option("--json", "print JSON")
		.option("--store <dir>", "store directory (default: $MODELFS_STORE, else $XDG_DATA_HOME/modelfs)")
		.action(async (opts: { json?: boolean; store?: string }) => {
			const storeDir = resolveStoreDir({ store: opts.store });
			// Opening checks that it is a store (and its format) even though ls reads the catalog.
			const store = await openStore({ storeDir });
			try {
				const repos = await listRepos({ storeDir });
				if (opts.json) {
					process.stdout.write(`${JSON.stringify(repos, null, 2)}\n`);
					return;
				}
				for (const r of repos) {
					for (const s of r.snapshots) {
						const id = `${r.type === "dataset" ? "datasets/" : ""}${r.name}@${s.commit.length > 12 ? s.commit.slice(0, 12) : s.commit}`;
						process.stdout.write(`${id.padEnd(48)} ${(s.refs.join(",") || "-").padEnd(12)} ${String(s.files).padStart(6)} files ${formatBytes(s.bytes).padStart(10)}\n`);
					}
				}
			} finally {
				await store.close();
			}
		});
}
