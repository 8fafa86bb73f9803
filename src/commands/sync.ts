import { existsSync } from "node:fs";
import { Command } from "commander";
import { defaultConfigPath } from "../config/defaultConfigPath.js";
import type { ModelConfig } from "../config/ModelfsConfig.js";
import { readConfig } from "../config/readConfig.js";
import { readModelsFile } from "../config/readModelsFile.js";
import { InterruptedError, UsageError } from "../errors.js";
import { installEnvProxyDispatcher } from "../ingest/http/installEnvProxyDispatcher.js";
import { hubEndpoint } from "../ingest/hub/hubEndpoint.js";
import { readAccessToken } from "../ingest/hub/readAccessToken.js";
import { readHubTuning } from "../ingest/hub/readHubTuning.js";
import { refreshStoreViews } from "../node/refreshStoreViews.js";
import { type SyncReport, syncModels } from "../node/syncModels.js";
import { createByteProgress } from "../progress/createByteProgress.js";
import { formatBytes } from "../progress/formatBytes.js";
import { resolveStoreDir } from "../store/resolveStoreDir.js";
import { redactSecrets } from "../system/redactSecrets.js";

interface SyncOptions {
	config?: string;
	from?: string;
	dryRun?: boolean;
	prune?: boolean;
	wait?: boolean;
	json?: boolean;
	quiet?: boolean;
	store?: string;
	token?: string;
	tokenFile?: string;
}

/**
 * `modelfs sync`: keep the store holding the config's `models:` list (or a
 * `--from` file's): ingest what is missing, remove nothing unless --prune.
 */
export function syncCommand(): Command {
	return new Command("sync")
		.description("make the store hold every model of the config's models: list (or --from <file>): ingest what is missing; remove nothing unless --prune")
		.option("--config <file>", "config file with a models: list (default: $MODELFS_CONFIG, else /etc/modelfs/config.yaml)")
		.option("--from <file>", "take the model list from this YAML/JSON file instead (a list, or a mapping with models:)")
		.option("--dry-run", "only report, from hub metadata, what each model holds and what would be downloaded: the figure for sizing a volume")
		.option("--prune", "also remove the store's repos the list does not name (their blobs go at the next modelfs gc)")
		.option("--wait", "wait for another writer to finish instead of failing")
		.option("--json", "print the report as JSON")
		.option("--quiet", "no progress bar, no notes")
		.option("--store <dir>", "store directory (default: $MODELFS_STORE, else the config's store, else $XDG_DATA_HOME/modelfs)")
		.option("--token <token>", "hub access token (default: $HF_TOKEN); never printed, but other users see it in `ps`: prefer HF_TOKEN or --token-file")
		.option("--token-file <file>", "read the hub access token from this file (surrounding whitespace dropped)")
		.addHelpText(
			"after",
			"\nA model is a repo id or {repo, type, revision, include, exclude}, e.g.\n" +
				"  models:\n    - Qwen/Qwen3-8B\n    - {repo: meta-llama/Llama-3.1-8B, revision: main, include: ['*.safetensors', '*.json']}\n" +
				"HF_ENDPOINT, HF_TOKEN, the proxy variables and the timeouts (MODELFS_HUB_CONNECT_TIMEOUT_MS, MODELFS_HUB_IDLE_TIMEOUT_MS)\n" +
				"are read as `modelfs ingest` reads them (see `modelfs ingest --help`).",
		)
		.action(async (opts: SyncOptions) => {
			const configPath = defaultConfigPath({ config: opts.config });
			const config = opts.config !== undefined || (opts.from === undefined && existsSync(configPath)) ? await readConfig({ path: configPath }) : null;
			const models: ModelConfig[] = opts.from !== undefined ? await readModelsFile({ path: opts.from }) : (config?.models ?? []);
			if (models.length === 0) {
				throw new UsageError("SYNC_NO_MODELS", `no models to sync: ${opts.from ?? (config ? `${configPath} has no models: list` : `${configPath} does not exist`)}`, {
					hint: "list them under models: in the config, or pass --from <file>",
				});
			}
			const storeDir = opts.store || process.env.MODELFS_STORE ? resolveStoreDir({ store: opts.store }) : (config?.store ?? resolveStoreDir({}));
			const accessToken = readAccessToken({ token: opts.token, tokenFile: opts.tokenFile });
			const tuning = readHubTuning();
			await installEnvProxyDispatcher();
			const abort = new AbortController();
			const onSignal = (): void => abort.abort(new InterruptedError());
			process.once("SIGINT", onSignal);
			process.once("SIGTERM", onSignal);
			const log = (line: string): void => {
				// Retry notes quote the hub's words; cli.ts redacts the final error the same way.
				if (!opts.quiet) process.stderr.write(`modelfs: ${redactSecrets({ text: line, secrets: accessToken ? [accessToken] : [] })}\n`);
			};
			const bar = { current: createByteProgress({ label: "sync", total: 0, quiet: true }) };
			try {
				const report = await syncModels({
					models,
					storeDir,
					hubUrl: hubEndpoint(),
					accessToken,
					...tuning,
					dryRun: opts.dryRun,
					prune: opts.prune,
					wait: opts.wait,
					signal: abort.signal,
					log,
					onPlan: (model, plan) => {
						bar.current.stop();
						log(`${model.repo.name}@${model.revision}: ${formatBytes(plan.totalBytes)}, ${formatBytes(plan.downloadBytes)} to download`);
						if (plan.downloadBytes > 0) bar.current = createByteProgress({ label: model.repo.name, total: plan.downloadBytes, quiet: opts.quiet });
					},
					onBytes: (n) => bar.current.increment(n),
				});
				bar.current.stop();
				// New models reach running backends through this node's live views, in place.
				const views = report.dryRun ? [] : await refreshStoreViews({ storeDir, dropCachesFor: (config?.views ?? []).filter((v) => v.dropCaches).map((v) => v.mountpoint), log });
				const refreshed = views.filter((v) => v.refreshed).map((v) => v.mountpoint);
				if (opts.json) process.stdout.write(`${JSON.stringify({ ...report, refreshed }, null, 2)}\n`);
				else {
					printReport(report);
					for (const v of refreshed) process.stdout.write(`view ${v}: refreshed in place\n`);
				}
			} catch (err) {
				if (abort.signal.aborted) throw new InterruptedError("sync interrupted: finished models and partial downloads are kept; run it again to continue");
				throw err;
			} finally {
				bar.current.stop();
				process.off("SIGINT", onSignal);
				process.off("SIGTERM", onSignal);
			}
		});
}

function printReport(r: SyncReport): void {
	for (const m of r.models) {
		const name = `${m.type === "dataset" ? "datasets/" : ""}${m.repo}@${m.result.commit.slice(0, 12)}`;
		const fetched = "downloadBytes" in m.result ? m.result.downloadBytes : m.result.downloadedBytes;
		process.stdout.write(`${name}: ${m.result.files} files, ${formatBytes(m.result.totalBytes)}; ${r.dryRun ? "would download" : "downloaded"} ${formatBytes(fetched)}\n`);
	}
	for (const name of r.removed) process.stdout.write(`${r.dryRun ? "would remove" : "removed"} ${name}\n`);
	process.stdout.write(
		`${r.models.length} models, ${formatBytes(r.totalBytes)}: ${r.dryRun ? "would download" : "downloaded"} ${formatBytes(r.downloadBytes)} (${r.downloadBytes} bytes), ${formatBytes(r.inStoreBytes)} already in the store\n`,
	);
}
