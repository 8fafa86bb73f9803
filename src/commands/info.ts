import { Command } from "commander";
import { UsageError } from "../errors.js";
import { formatBytes } from "../progress/formatBytes.js";
import { resolveSnapshot } from "../store/index/resolveSnapshot.js";
import { parseRepoSpec } from "../store/names/parseRepoSpec.js";
import { openStore } from "../store/openStore.js";
import { resolveStoreDir } from "../store/resolveStoreDir.js";

/** `modelfs info <repo>[@rev]`: files and total bytes of one snapshot. */
export function infoCommand(): Command {
	return new Command("info")
		.description("files and total bytes of one snapshot (the figure for sizing a volume)")
		.argument("<repo>", "org/name[@revision]: a ref, a commit or a commit prefix (default: main)")
		.option("--repo-type <type>", "model or dataset (default: a model, else a dataset of that name)")
		.option("--json", "print JSON")
		.option("--store <dir>", "store directory (default: $MODELFS_STORE, else $XDG_DATA_HOME/modelfs)")
		.action(async (spec: string, opts: { json?: boolean; store?: string; repoType?: string }) => {
			if (opts.repoType !== undefined && opts.repoType !== "model" && opts.repoType !== "dataset")
				throw new UsageError("USAGE_REPO_TYPE", `--repo-type must be model or dataset, got ${opts.repoType}`);
			const { name, type, revision } = parseRepoSpec(spec, opts.repoType as "model" | "dataset" | undefined);
			const storeDir = resolveStoreDir({ store: opts.store });
			const store = await openStore({ storeDir });
			try {
				const snap = await resolveSnapshot({ storeDir, name, type, revision });
				if (opts.json) {
					process.stdout.write(`${JSON.stringify(snap, null, 2)}\n`);
					return;
				}
				process.stdout.write(`${snap.type} ${snap.name}@${snap.commit}${snap.refs.length ? ` (${snap.refs.join(", ")})` : ""}\n`);
				for (const f of snap.files) process.stdout.write(`${formatBytes(f.size).padStart(10)}  ${f.blake3.slice(0, 12)}  ${f.path}\n`);
				process.stdout.write(`${snap.files.length} files, ${formatBytes(snap.bytes)} (${snap.bytes} bytes)\n`);
			} finally {
				await store.close();
			}
		});
}
