import { Command } from "commander";
import { InterruptedError } from "../errors.js";
import { createByteProgress } from "../progress/createByteProgress.js";
import { formatBytes } from "../progress/formatBytes.js";
import { rebuildIndex } from "../store/maintenance/rebuildIndex.js";
import { resolveStoreDir } from "../store/resolveStoreDir.js";

/** `modelfs rebuild-index`: a new LMDB index from the newest catalog that parses and objects/. */
export function rebuildIndexCommand(): Command {
	return new Command("rebuild-index")
		.description(
			"rebuild a damaged index from the newest catalog generation that parses and the objects on disk; " +
				"the old index folder is moved to <store>/quarantine/index-<time>, never deleted. Needs a catalog: " +
				"without one the repo names are lost. Blobs are not re-hashed (only small files the catalog names by git sha1), " +
				"so run `modelfs verify` afterwards, or give --verify",
		)
		.option("--verify", "hash every blob while rebuilding and leave out those whose content does not match (reads the whole store)")
		.option("--wait", "wait for another writer to finish instead of failing")
		.option("--json", "print JSON")
		.option("--quiet", "no progress bar")
		.option("--store <dir>", "store directory (default: $MODELFS_STORE, else $XDG_DATA_HOME/modelfs)")
		.action(async (opts: { verify?: boolean; wait?: boolean; json?: boolean; quiet?: boolean; store?: string }) => {
			const storeDir = resolveStoreDir({ store: opts.store });
			const abort = new AbortController();
			const onSigint = () => abort.abort(new InterruptedError("rebuild-index interrupted"));
			process.once("SIGINT", onSigint);
			const bar = createByteProgress({ label: "rebuild-index", total: 0, quiet: opts.quiet });
			try {
				const r = await rebuildIndex({
					storeDir,
					verify: opts.verify,
					wait: opts.wait,
					signal: abort.signal,
					onSkip: (s) => process.stderr.write(`modelfs: warning: catalog ${s.path} does not parse, using an older generation\n`),
					onTotal: (b) => bar.setTotal(b),
					onProgress: (b) => bar.increment(b),
				}).catch((err: unknown) => {
					if (abort.signal.aborted) throw new InterruptedError("rebuild-index interrupted: run it again (it sets the half-built index aside too)");
					throw err;
				});
				bar.stop();
				if (opts.json) {
					process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
					return;
				}
				const from = r.catalog ? `catalog generation ${r.catalog.generation}` : "an empty store";
				process.stdout.write(
					`rebuilt the index of ${r.storeDir} from ${from}: ${r.repos} repos, ${r.snapshots} snapshots, ${r.blobs} blobs (${formatBytes(r.bytes)})` +
						`${r.verified ? `, all ${r.hashed} hashed` : r.hashed ? `, ${r.hashed} hashed` : ""}; published generation ${r.generation}` +
						`${r.movedTo ? `; the old index is in ${r.movedTo}` : ""}\n`,
				);
				const problems = [
					r.missing.length ? `${r.missing.length} blobs missing` : "",
					r.damaged.length ? `${r.damaged.length} damaged (left out)` : "",
					r.unreferenced ? `${r.unreferenced} objects no snapshot uses (gc removes them)` : "",
				].filter(Boolean);
				if (problems.length > 0 || !r.verified) {
					process.stdout.write(
						`${problems.length ? `${problems.join(", ")}; ` : ""}run \`modelfs verify\`${r.missing.length || r.damaged.length ? " and import or ingest the repos it names again" : " to hash the blobs"}\n`,
					);
				}
			} finally {
				bar.stop();
				process.off("SIGINT", onSigint);
			}
		});
}
