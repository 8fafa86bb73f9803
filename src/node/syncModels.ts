import type { ModelConfig } from "../config/ModelfsConfig.js";
import { ModelfsError } from "../errors.js";
import type { IngestDryRun, IngestSummary } from "../ingest/hub/IngestTypes.js";
import { ingestRepo } from "../ingest/hub/ingestRepo.js";
import type { RetryPolicy } from "../ingest/hub/withRetries.js";
import { listRepos } from "../store/index/listRepos.js";
import { removeSnapshot } from "../store/index/removeSnapshot.js";
import { openStore } from "../store/openStore.js";

export interface SyncModelsParams {
	/** The models to keep (the config's `models:` or a `--from` file). */
	models: ModelConfig[];
	storeDir: string;
	/** The hub endpoint (hubEndpoint()). */
	hubUrl: string;
	/** Never printed. */
	accessToken?: string;
	/** Sizes from hub metadata only: nothing is downloaded or changed. @default false */
	dryRun?: boolean;
	/** Also remove the repos of the store that the list does not name. @default false */
	prune?: boolean;
	/** Wait for another writer instead of failing. @default false */
	wait?: boolean;
	/** Files downloaded at once, per model. @default 4 */
	concurrency?: number;
	/** As ingestRepo's. @default 10000 */
	connectTimeoutMs?: number;
	/** As ingestRepo's. @default 30000 */
	idleTimeoutMs?: number;
	/** As ingestRepo's. @default 16 MiB */
	partSize?: number;
	retry?: RetryPolicy;
	signal?: AbortSignal;
	/** One-line notes for stderr. */
	log?: (line: string) => void;
	/** Told before each model is fetched, with what it will download. */
	onPlan?: (model: ModelConfig, plan: { downloadBytes: number; totalBytes: number }) => void;
	/** Bytes received. */
	onBytes?: (n: number) => void;
}

export interface SyncedModel {
	repo: string;
	type: "model" | "dataset";
	revision: string;
	/** The run's summary, or its dry run. */
	result: IngestSummary | IngestDryRun;
}

export interface SyncReport {
	dryRun: boolean;
	models: SyncedModel[];
	/** Bytes of every listed snapshot (what the store holds for the list, before deduplication across models). */
	totalBytes: number;
	/** Bytes fetched (or, in a dry run, that would be fetched: what the volume must have free). */
	downloadBytes: number;
	/** Bytes the store already had. */
	inStoreBytes: number;
	/** Repos removed (prune), or that would be. */
	removed: string[];
}

/**
 * `modelfs sync`: makes the store hold every listed model (ingesting only
 * what is missing, each verified and deduplicated as `ingest` does) and,
 * only with `prune`, drop repos the list does not name. The caller refreshes
 * the node's views afterwards.
 */
export async function syncModels(params: SyncModelsParams): Promise<SyncReport> {
	if (!Array.isArray(params?.models)) throw new TypeError("syncModels: `models` must be a list");
	const dryRun = params.dryRun === true;
	const report: SyncReport = { dryRun, models: [], totalBytes: 0, downloadBytes: 0, inStoreBytes: 0, removed: [] };
	for (const model of params.models) {
		const common = {
			repo: model.repo,
			revision: model.revision,
			include: model.include,
			exclude: model.exclude,
			storeDir: params.storeDir,
			hubUrl: params.hubUrl,
			accessToken: params.accessToken,
			concurrency: params.concurrency,
			connectTimeoutMs: params.connectTimeoutMs,
			idleTimeoutMs: params.idleTimeoutMs,
			partSize: params.partSize,
			retry: params.retry,
			wait: params.wait,
			signal: params.signal,
			log: params.log,
		};
		const label = `${model.repo.type === "dataset" ? "datasets/" : ""}${model.repo.name}@${model.revision}`;
		try {
			if (dryRun) {
				const d = await ingestRepo({ ...common, dryRun: true });
				report.models.push({ repo: model.repo.name, type: model.repo.type, revision: model.revision, result: d });
				report.totalBytes += d.totalBytes;
				report.downloadBytes += d.downloadBytes;
				report.inStoreBytes += d.inStoreBytes;
				continue;
			}
			const s = await ingestRepo({
				...common,
				onPlan: (plan) => params.onPlan?.(model, { downloadBytes: plan.downloadBytes, totalBytes: plan.totalBytes }),
				onBytes: params.onBytes,
			});
			report.models.push({ repo: model.repo.name, type: model.repo.type, revision: model.revision, result: s });
			report.totalBytes += s.totalBytes;
			report.downloadBytes += s.downloadedBytes;
			report.inStoreBytes += s.dedupedBytes;
		} catch (err) {
			// Name the model: a list of twenty that fails on one must say which.
			if (err instanceof ModelfsError) err.message = `${label}: ${err.message}`;
			throw err;
		}
	}
	if (params.prune) report.removed = await prune(params, dryRun);
	return report;
}

/** Removes (or, in a dry run, names) the repos of the store the list does not name. */
async function prune(params: SyncModelsParams, dryRun: boolean): Promise<string[]> {
	const keep = new Set(params.models.map((m) => `${m.repo.type}:${m.repo.name}`));
	const extra = (await listRepos({ storeDir: params.storeDir })).filter((r) => !keep.has(`${r.type}:${r.name}`));
	if (dryRun || extra.length === 0) return extra.map((r) => `${r.type === "dataset" ? "datasets/" : ""}${r.name}`);
	const store = await openStore({ storeDir: params.storeDir, write: true, wait: params.wait, signal: params.signal });
	try {
		const removed: string[] = [];
		for (const r of extra) {
			const name = `${r.type === "dataset" ? "datasets/" : ""}${r.name}`;
			await removeSnapshot({ store, repo: { type: r.type, name: r.name } });
			removed.push(name);
			params.log?.(`removed ${name}: not in the model list (its blobs go at the next modelfs gc)`);
		}
		return removed;
	} finally {
		await store.close();
	}
}
