import { Command, Option } from "commander";
import { InterruptedError, UsageError } from "../errors.js";
import { installEnvProxyDispatcher } from "../ingest/http/installEnvProxyDispatcher.js";
import { hubEndpoint } from "../ingest/hub/hubEndpoint.js";
import type { IngestDryRun, IngestSummary } from "../ingest/hub/IngestTypes.js";
import { ingestRepo } from "../ingest/hub/ingestRepo.js";
import { parseRepoArg } from "../ingest/hub/parseRepoArg.js";
import { readAccessToken } from "../ingest/hub/readAccessToken.js";
import { readHubTuning } from "../ingest/hub/readHubTuning.js";
import { createByteProgress } from "../progress/createByteProgress.js";
import { formatBytes } from "../progress/formatBytes.js";
import { resolveStoreDir } from "../store/resolveStoreDir.js";
import { redactSecrets } from "../system/redactSecrets.js";

interface IngestOptions {
	revision: string;
	repoType?: string;
	include: string[];
	exclude: string[];
	concurrency: string;
	token?: string;
	tokenFile?: string;
	dryRun?: boolean;
	json?: boolean;
	quiet?: boolean;
	wait?: boolean;
	store?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

const files = (n: number): string => `${n} file${n === 1 ? "" : "s"}`;

function label(r: { repo: string; type: string; commit: string }): string {
	return `${r.type === "dataset" ? "datasets/" : ""}${r.repo}@${r.commit}`;
}

function printSummary(s: IngestSummary): void {
	const refs = Object.keys(s.refs);
	process.stdout.write(`ingested ${label(s)}${refs.length ? ` (${refs.join(", ")})` : ""}: ${files(s.files)}, ${formatBytes(s.totalBytes)}\n`);
	if (s.downloadedFiles === 0) {
		process.stdout.write(`nothing downloaded: all ${s.files} files were already in the store (${formatBytes(s.dedupedBytes)} deduplicated)\n`);
	} else {
		process.stdout.write(
			`downloaded ${formatBytes(s.downloadedBytes)} (${files(s.downloadedFiles)}${s.resumedBytes > 0 ? `, ${formatBytes(s.resumedBytes)} resumed from an earlier run` : ""}), ` +
				`deduplicated ${formatBytes(s.dedupedBytes)} (${files(s.dedupedFiles)} already in the store)\n`,
		);
	}
	process.stdout.write(`time ${s.seconds.toFixed(1)} s, ${formatBytes(s.bytesPerSecond)}/s\n`);
}

function printDryRun(d: IngestDryRun): void {
	process.stdout.write(`${label(d)}: ${files(d.files)}, ${formatBytes(d.totalBytes)} (${d.totalBytes} bytes)\n`);
	process.stdout.write(
		`to download: ${files(d.downloadFiles)}, ${formatBytes(d.downloadBytes)} (${d.downloadBytes} bytes)${d.partialBytes > 0 ? `, ${formatBytes(d.partialBytes)} of it already partly downloaded` : ""}\n`,
	);
	process.stdout.write(`in store:    ${files(d.inStoreFiles)}, ${formatBytes(d.inStoreBytes)} (${d.inStoreBytes} bytes)\n`);
}

/** `org/name@rev` -> the repo and its revision; without `@`, the --revision given. */
function splitRevision(arg: string, revision: string): { repoArg: string; revision: string } {
	const at = arg.lastIndexOf("@");
	if (at <= 0 || arg.includes("://")) return { repoArg: arg, revision };
	if (at === arg.length - 1) throw new UsageError("REVISION_INVALID", `${arg}: nothing after "@"; write org/name@<branch, tag or commit>`);
	return { repoArg: arg.slice(0, at), revision: arg.slice(at + 1) };
}

/** `modelfs ingest <repo>...`: prepopulates the store from the Hugging Face Hub (HF_ENDPOINT, HF_TOKEN). */
export function ingestCommand(): Command {
	return new Command("ingest")
		.description("download Hugging Face Hub repos, each at one commit, into the store: deduplicated, verified, resumable")
		.argument("<repos...>", "org/name or org/name@revision, one or more, ingested one after another (datasets: --repo-type dataset or datasets/org/name)")
		.option("--revision <rev>", "branch, tag or commit sha, for every repo given without @revision", "main")
		.addOption(new Option("--repo-type <type>", "model or dataset (default: model)").choices(["model", "dataset"]))
		.option("--include <glob>", "only files matching (fnmatch: '*' also matches '/'); repeatable", collect, [])
		.option("--exclude <glob>", "skip files matching; repeatable", collect, [])
		.option("--concurrency <n>", "files downloaded at once", "4")
		.option("--token <token>", "hub access token (default: $HF_TOKEN); never printed, but other users see it in `ps`: prefer HF_TOKEN or --token-file")
		.option("--token-file <file>", "read the hub access token from this file (surrounding whitespace dropped)")
		.option("--dry-run", "print total size, bytes to download and bytes already in the store, from metadata only")
		.option("--json", "print the summary (or the dry-run figures) as JSON")
		.option("--quiet", "no progress bar, no retry notes")
		.option("--wait", "wait for another writer to finish instead of failing")
		.option("--store <dir>", "store directory (default: $MODELFS_STORE, else $XDG_DATA_HOME/modelfs)")
		.addHelpText(
			"after",
			"\nHF_ENDPOINT selects the hub (default https://huggingface.co); HF_TOKEN is the token when neither --token nor --token-file is given.\n" +
				"HTTPS_PROXY / HTTP_PROXY (http:// proxies, credentials in the URL) and NO_PROXY are honoured; NODE_EXTRA_CA_CERTS adds a CA.\n" +
				"Every hub request (metadata and downloads) has a connect timeout, MODELFS_HUB_CONNECT_TIMEOUT_MS (default 10000),\n" +
				"and an idle timeout, MODELFS_HUB_IDLE_TIMEOUT_MS (default 30000: no byte received for that long); a request that\n" +
				"times out is retried with backoff, then ingest fails naming the host and the timeout (exit 3).\n" +
				"With several repos, every name is checked first; the first repo that fails stops the run (those before it are in\n" +
				"the store), and --json prints a list instead of one object.",
		)
		.action(async (repoArgs: string[], opts: IngestOptions) => {
			// Every argument is checked before anything is downloaded.
			const targets = repoArgs.map((arg) => {
				const { repoArg, revision } = splitRevision(arg, opts.revision);
				return { repo: parseRepoArg({ repo: repoArg, repoType: opts.repoType }), revision };
			});
			const concurrency = Number(opts.concurrency);
			if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
				throw new UsageError("CONCURRENCY_INVALID", `--concurrency must be an integer from 1 to 64, got ${JSON.stringify(opts.concurrency)}`);
			}
			const token = readAccessToken({ token: opts.token, tokenFile: opts.tokenFile });
			const storeDir = resolveStoreDir({ store: opts.store });
			const hubUrl = hubEndpoint();
			await installEnvProxyDispatcher();
			const abort = new AbortController();
			const onSignal = (): void => abort.abort(new InterruptedError());
			process.once("SIGINT", onSignal);
			process.once("SIGTERM", onSignal);
			const bar = { current: createByteProgress({ label: "ingest", total: 0, quiet: true }) };
			const log = (line: string): void => {
				// Retry notes quote the hub's words; cli.ts redacts the final error the same way.
				if (!opts.quiet) process.stderr.write(`modelfs: ${redactSecrets({ text: line, secrets: token ? [token] : [] })}\n`);
			};
			const tuning = readHubTuning();
			const common = {
				include: opts.include,
				exclude: opts.exclude,
				storeDir,
				wait: opts.wait,
				hubUrl,
				accessToken: token,
				concurrency,
				...tuning,
				signal: abort.signal,
				log,
			};
			const results: Array<IngestSummary | IngestDryRun> = [];
			let current = targets[0].repo;
			try {
				for (const { repo, revision } of targets) {
					current = repo;
					if (opts.dryRun) {
						const d = await ingestRepo({ ...common, repo, revision, dryRun: true });
						results.push(d);
						if (!opts.json) printDryRun(d);
						continue;
					}
					const s = await ingestRepo({
						...common,
						repo,
						revision,
						onPlan: (plan) => {
							log(
								`${label({ repo: repo.name, type: repo.type, commit: plan.commit })}: ${files(plan.files)}, ${formatBytes(plan.totalBytes)}; ${plan.downloadFiles} to download (${formatBytes(plan.downloadBytes)})`,
							);
							if (plan.downloadBytes > 0) bar.current = createByteProgress({ label: "ingest", total: plan.downloadBytes, quiet: opts.quiet });
						},
						onBytes: (n) => bar.current.increment(n),
					});
					bar.current.stop();
					results.push(s);
					if (!opts.json) printSummary(s);
				}
				if (opts.json) process.stdout.write(`${JSON.stringify(results.length === 1 ? results[0] : results, null, 2)}\n`);
			} catch (err) {
				if (abort.signal.aborted) {
					throw new InterruptedError(`ingest of ${current.name} interrupted: finished files and partial downloads are kept; run it again to continue`);
				}
				throw err;
			} finally {
				bar.current.stop();
				process.off("SIGINT", onSignal);
				process.off("SIGTERM", onSignal);
			}
		});
}
