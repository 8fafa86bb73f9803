import { Command } from "commander";
import { InterruptedError, UsageError } from "../errors.js";
import type { ImportReport, ImportSkip } from "../ingest/local/ImportTypes.js";
import { importFolder } from "../ingest/local/importFolder.js";
import { importHfCache } from "../ingest/local/importHfCache.js";
import { createByteProgress } from "../progress/createByteProgress.js";
import { formatBytes } from "../progress/formatBytes.js";
import { parseRepoSpec } from "../store/names/parseRepoSpec.js";
import { openStore } from "../store/openStore.js";
import { resolveStoreDir } from "../store/resolveStoreDir.js";

interface ImportOptions {
	store?: string;
	as?: string;
	repoType: string;
	trustNames?: boolean;
	wait?: boolean;
	json?: boolean;
	quiet?: boolean;
}

function printSummary(report: ImportReport): void {
	for (const r of report.repos) {
		for (const s of r.snapshots) {
			const refs = Object.entries(r.refs)
				.filter(([, c]) => c === s.commit)
				.map(([ref]) => ref);
			process.stdout.write(
				`${r.type === "dataset" ? "datasets/" : ""}${r.name}@${s.commit}${refs.length ? ` (${refs.join(", ")})` : ""}: ${s.files} files, ${formatBytes(s.bytes)}\n`,
			);
		}
	}
	process.stdout.write(
		`imported ${report.files} files: ${formatBytes(report.bytesCopied)} copied, ${formatBytes(report.bytesDeduplicated)} already in the store` +
			(report.skipped.length ? `, ${report.skipped.length} skipped` : "") +
			"\n",
	);
}

/** `modelfs import <dir>...`: folds Hugging Face caches (or a plain folder with --as) into the store. */
export function importCommand(): Command {
	return new Command("import")
		.description("fold existing Hugging Face caches (every snapshot and ref) into the store, or a plain model folder with --as")
		.argument("<paths...>", "cache folders (~/.cache/huggingface/hub, HF_HOME, or models--org--name), or one folder with --as")
		.option("--as <repo>", "import a plain folder as org/name[@revision] (revision default: a hash of the content; refs main -> it)")
		.option("--repo-type <type>", "with --as: model or dataset", "model")
		.option("--trust-names", "take LFS blob names as their sha256 without checking (faster, BLAKE3 only)")
		.option("--wait", "wait for another writer to finish instead of failing")
		.option("--json", "print the summary as JSON")
		.option("--quiet", "no progress bar")
		.option("--store <dir>", "store directory (default: $MODELFS_STORE, else $XDG_DATA_HOME/modelfs)")
		.action(async (paths: string[], opts: ImportOptions) => {
			if (opts.repoType !== "model" && opts.repoType !== "dataset") throw new UsageError("USAGE_REPO_TYPE", `--repo-type must be model or dataset, got ${opts.repoType}`);
			if (opts.as && paths.length !== 1) throw new UsageError("USAGE_IMPORT_AS", "--as takes exactly one folder");
			const spec = opts.as ? parseRepoSpec(opts.as, opts.repoType as "model" | "dataset") : null;
			const storeDir = resolveStoreDir({ store: opts.store });
			const abort = new AbortController();
			const onSigint = () => abort.abort(new InterruptedError("import interrupted"));
			process.once("SIGINT", onSigint);
			process.once("SIGTERM", onSigint);
			const store = await openStore({
				storeDir,
				create: true,
				wait: opts.wait,
				signal: abort.signal,
				onCreated: (dir) => process.stderr.write(`modelfs: created a new store at ${dir}\n`),
			});
			const progress = { bar: createByteProgress({ label: "import", total: 0, quiet: opts.quiet }) };
			const onSkip = (s: ImportSkip) => process.stderr.write(`modelfs: skipped ${s.path}: ${s.reason} (${s.detail})\n`);
			try {
				const common = {
					store,
					signal: abort.signal,
					onTotal: (bytes: number) => progress.bar.setTotal(bytes),
					onProgress: (bytes: number) => progress.bar.increment(bytes),
					onSkip,
				};
				const report = spec
					? await importFolder({ ...common, path: paths[0], repo: { type: spec.type ?? "model", name: spec.name }, revision: spec.revision })
					: await importHfCache({ ...common, paths, trustNames: opts.trustNames });
				progress.bar.stop();
				if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
				else printSummary(report);
			} catch (err) {
				if (abort.signal.aborted) throw new InterruptedError("import interrupted: nothing partial was committed; run it again to continue");
				throw err;
			} finally {
				progress.bar.stop();
				process.off("SIGINT", onSigint);
				process.off("SIGTERM", onSigint);
				await store.close();
			}
		});
}
