import pLimit from "p-limit";
import { HubError, InterruptedError, ModelfsError, UsageError } from "../../errors.js";
import { commitSnapshot } from "../../store/index/commitSnapshot.js";
import { compareSnapshot } from "../../store/index/compareSnapshot.js";
import { findBlob } from "../../store/index/findBlob.js";
import { mergeSnapshotFiles } from "../../store/index/mergeSnapshotFiles.js";
import type { BlobWriter } from "../../store/objects/BlobWriter.js";
import { createBlobWriter } from "../../store/objects/createBlobWriter.js";
import { partialDownloadSize } from "../../store/objects/partialDownloadSize.js";
import { openStore } from "../../store/openStore.js";
import type { Store } from "../../store/Store.js";
import type { BlobRecord, RepoId, SnapshotFile } from "../../store/StoreTypes.js";
import { type ChunkPool, createChunkPool } from "./createChunkPool.js";
import type { HubFetch } from "./createHubFetch.js";
import { createHubFetch } from "./createHubFetch.js";
import { createPathFilter } from "./createPathFilter.js";
import { fetchIntoWriter } from "./fetchIntoWriter.js";
import type { IngestDryRun, IngestSummary, IngestTarget, RemoteFile, RemoteSnapshot } from "./IngestTypes.js";
import { listSnapshotFiles } from "./listSnapshotFiles.js";
import type { RetryPolicy } from "./withRetries.js";

export interface IngestRepoParams {
	repo: RepoId;
	/** Branch, tag or commit sha. @default "main" */
	revision?: string;
	/** fnmatch patterns (see createPathFilter); all files when empty. */
	include?: string[];
	exclude?: string[];
	/** The store directory (resolveStoreDir). */
	storeDir: string;
	/** Wait for another writer instead of failing. @default false */
	wait?: boolean;
	/** The hub endpoint (hubEndpoint()). */
	hubUrl: string;
	/** Any non-empty token without whitespace (`hf_...` on the hub, other formats on mirrors); never printed. */
	accessToken?: string;
	/** Report sizes from the metadata only; nothing is downloaded or written. @default false */
	dryRun?: boolean;
	/** Files downloaded at once. @default 4 */
	concurrency?: number;
	/** Ranged requests per large file at once. @default 4 */
	parts?: number;
	/** Bytes per ranged request. @default 16 MiB */
	partSize?: number;
	/** A connection to the hub (or its CDN) not up within this long is retried. @default 10000 */
	connectTimeoutMs?: number;
	/** A request (metadata or bytes) that receives nothing for this long is cut and retried. @default 30000 */
	idleTimeoutMs?: number;
	retry?: RetryPolicy;
	/** Ctrl-C: stops downloads, keeps partial files for the next run. */
	signal?: AbortSignal;
	/** Told once the plan is known: bytes that will be fetched. */
	onPlan?: (plan: { files: number; totalBytes: number; downloadBytes: number; downloadFiles: number; dedupedBytes: number; commit: string }) => void;
	/** Bytes received, and bytes resumed from partial files. */
	onBytes?: (n: number) => void;
	/** One-line notes for stderr (retries). */
	log?: (line: string) => void;
}

/** Files with the same content, fetched once. */
interface Group {
	file: RemoteFile;
	paths: RemoteFile[];
	key: string;
	existing: BlobRecord | null;
}

/**
 * Ingests one hub repo at one commit into the store: pins the revision,
 * lists the files, skips every file whose sha256 (LFS) or git sha1 the
 * store already knows, downloads the others in parallel (large files in
 * ranged parts) straight into the store's hashing blob writer, and commits
 * the snapshot and its ref only when every file is in. An interrupted or
 * failed run keeps complete blobs and partial downloads (resumed next time)
 * and changes nothing else.
 */
export async function ingestRepo(params: IngestRepoParams & { dryRun: true }): Promise<IngestDryRun>;
export async function ingestRepo(params: IngestRepoParams & { dryRun?: false }): Promise<IngestSummary>;
export async function ingestRepo(params: IngestRepoParams): Promise<IngestSummary | IngestDryRun>;
export async function ingestRepo(params: IngestRepoParams): Promise<IngestSummary | IngestDryRun> {
	if (!params?.repo) throw new TypeError("ingestRepo: `repo` is required");
	if (typeof params.storeDir !== "string" || params.storeDir === "") throw new TypeError("ingestRepo: `storeDir` is required");
	const concurrency = params.concurrency ?? 4;
	if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
		throw new UsageError("CONCURRENCY_INVALID", `--concurrency must be an integer from 1 to 64, got ${params.concurrency}`);
	}
	// Mirrors issue tokens of their own formats: only an empty token or one with whitespace is surely wrong.
	if (params.accessToken !== undefined && (params.accessToken === "" || /\s/.test(params.accessToken))) {
		throw new UsageError("TOKEN_INVALID", "the access token (--token, --token-file or HF_TOKEN) is empty or holds whitespace", {
			hint: "copy a token from https://huggingface.co/settings/tokens (or your mirror's), without spaces or line breaks",
		});
	}
	const revision = params.revision ?? "main";
	const log = params.log ?? (() => undefined);
	const hubFetch = createHubFetch({
		repo: params.repo,
		revision,
		hubUrl: params.hubUrl,
		tokenGiven: params.accessToken !== undefined,
		signal: params.signal,
		connectTimeoutMs: params.connectTimeoutMs,
		idleTimeoutMs: params.idleTimeoutMs,
	});
	let remote: RemoteSnapshot;
	try {
		remote = await listSnapshotFiles({
			repo: params.repo,
			revision,
			hubUrl: params.hubUrl,
			accessToken: params.accessToken,
			hubFetch,
			retry: params.retry,
			signal: params.signal,
			onRetry: log,
		});
	} catch (err) {
		// The metadata calls' keep-alive connections.
		hubFetch.close();
		throw err;
	}
	const keep = createPathFilter({ include: params.include, exclude: params.exclude });
	const files = remote.files.filter((f) => keep(f.path));
	const where = `${params.repo.name}@${remote.commit}`;
	if (files.length === 0 && remote.files.length > 0) {
		hubFetch.close();
		throw new UsageError("NO_FILES_MATCH", `no file of ${where} matches --include/--exclude (${remote.files.length} files in the repo)`, {
			hint: "patterns are fnmatch-style: '*' also matches '/', e.g. --include '*.safetensors' --include '*.json'",
		});
	}

	const store = params.dryRun
		? await openForDryRun(params.storeDir)
		: await openStore({ storeDir: params.storeDir, write: true, create: true, wait: params.wait, signal: params.signal });
	// The clock for bytesPerSecond starts once the writer lock is held: with
	// --wait, the time spent waiting for another writer is no download time.
	const started = Date.now();
	try {
		const groups = groupByContent(files, store);
		const toFetch = groups.filter((g) => g.existing === null);
		const totalBytes = files.reduce((a, f) => a + f.size, 0);
		const target: IngestTarget = { repo: params.repo.name, type: params.repo.type, revision, commit: remote.commit, files: files.length, totalBytes };
		const downloadBytes = toFetch.reduce((a, g) => a + g.file.size, 0);
		// A content listed under two paths is fetched once: the second counts as deduplicated.
		const downloadFiles = toFetch.length;
		if (params.dryRun) {
			let partialBytes = 0;
			if (store) {
				for (const g of toFetch) {
					const kept = await partialDownloadSize({ store, resumeKey: resumeKeyOf(g.file) });
					if (kept !== null) partialBytes += Math.min(kept, g.file.size);
				}
			}
			return {
				...target,
				downloadFiles,
				downloadBytes,
				inStoreFiles: files.length - downloadFiles,
				inStoreBytes: totalBytes - downloadBytes,
				partialBytes,
			} satisfies IngestDryRun;
		}
		const writable = store as Store;
		params.onPlan?.({ files: files.length, totalBytes, downloadBytes, downloadFiles, dedupedBytes: totalBytes - downloadBytes, commit: remote.commit });

		const stop = new AbortController();
		const onAbort = (): void => stop.abort(new InterruptedError());
		params.signal?.addEventListener("abort", onAbort, { once: true });
		let downloadedBytes = 0;
		let resumedBytes = 0;
		const limit = pLimit(concurrency);
		const chunks = createChunkPool();
		let failure: unknown = null;
		try {
			await Promise.all(
				toFetch.map((g) =>
					limit(async () => {
						if (failure !== null) return;
						try {
							const got = await fetchGroup({
								params,
								hubFetch,
								chunks,
								remote,
								group: g,
								store: writable,
								signal: stop.signal,
								onBytes: (n) => (downloadedBytes += n),
								onResumed: (n) => (resumedBytes += n),
								log,
							});
							g.existing = got;
						} catch (err) {
							if (failure === null) failure = err;
							stop.abort(err);
						}
					}),
				),
			);
		} finally {
			params.signal?.removeEventListener("abort", onAbort);
			hubFetch.close();
		}
		if (params.signal?.aborted) throw new InterruptedError();
		if (failure !== null) throw failure;

		const snapshotFiles: SnapshotFile[] = [];
		for (const g of groups) {
			const blob = g.existing as BlobRecord;
			for (const f of g.paths) snapshotFiles.push({ path: f.path, blake3: blob.blake3, size: f.size, etag: f.etag });
		}
		const filtered = (params.include?.length ?? 0) + (params.exclude?.length ?? 0) > 0;
		// With --include/--exclude the run adds to what an earlier ingest of the commit stored.
		const merged = filtered ? mergeSnapshotFiles({ store: writable, repo: params.repo, commit: remote.commit, files: snapshotFiles }) : snapshotFiles;
		const refs: Record<string, string> = revision === remote.commit ? {} : { [revision]: remote.commit };
		// A re-ingest that changes nothing leaves the index (and its generation,
		// which views and readers follow) alone.
		if (compareSnapshot({ store: writable, repo: params.repo, commit: remote.commit, files: merged, refs }) !== "same") {
			await commitSnapshot({ store: writable, snapshot: { repo: params.repo, commit: remote.commit, files: merged }, refs });
		}
		const seconds = (Date.now() - started) / 1000;
		return {
			...target,
			downloadedFiles: downloadFiles,
			downloadedBytes,
			resumedBytes,
			dedupedFiles: files.length - downloadFiles,
			dedupedBytes: totalBytes - downloadBytes,
			seconds,
			bytesPerSecond: seconds > 0 ? downloadedBytes / seconds : 0,
			refs,
		} satisfies IngestSummary;
	} finally {
		hubFetch.close();
		await store?.close();
	}
}

async function openForDryRun(storeDir: string): Promise<Store | null> {
	try {
		return await openStore({ storeDir });
	} catch (err) {
		// No store yet: everything would be downloaded.
		if (err instanceof ModelfsError && err.code === "STORE_NOT_FOUND") return null;
		throw err;
	}
}

function resumeKeyOf(f: RemoteFile): string {
	return f.lfs ? (f.sha256 as string) : `git-${f.sha1 as string}`;
}

function groupByContent(files: RemoteFile[], store: Store | null): Group[] {
	const byKey = new Map<string, Group>();
	for (const f of files) {
		const key = resumeKeyOf(f);
		const g = byKey.get(key);
		if (g) {
			g.paths.push(f);
			continue;
		}
		const existing = store === null ? null : f.lfs ? findBlob({ store, sha256: f.sha256 as string }) : findBlob({ store, sha1: f.sha1 as string });
		byKey.set(key, { file: f, paths: [f], key, existing: existing && existing.size === f.size ? existing : null });
	}
	return [...byKey.values()];
}

async function fetchGroup(p: {
	params: IngestRepoParams;
	hubFetch: HubFetch;
	chunks: ChunkPool;
	remote: RemoteSnapshot;
	group: Group;
	store: Store;
	signal: AbortSignal;
	onBytes: (n: number) => void;
	onResumed: (n: number) => void;
	log: (line: string) => void;
}): Promise<BlobRecord> {
	const { params, group, remote } = p;
	const f = group.file;
	const what = `${params.repo.name}@${remote.commit}:${f.path}`;
	const segs = f.path.split("/").map(encodeURIComponent).join("/");
	const url = `${params.hubUrl}/${params.repo.type === "dataset" ? "datasets/" : ""}${params.repo.name}/resolve/${remote.commit}/${segs}`;
	// The listing already gave size and oid: no probe request per file.
	const expect = f.lfs ? { size: f.size, sha256: f.sha256 as string } : { size: f.size, sha1: f.sha1 as string };
	for (let attempt = 1; ; attempt++) {
		const writer = await openWriter(p.store, f, what, p.signal);
		if (writer.resumedBytes > 0) {
			p.onResumed(writer.resumedBytes);
			p.params.onBytes?.(writer.resumedBytes);
		}
		try {
			await fetchIntoWriter({
				url,
				accessToken: params.accessToken,
				writer,
				size: f.size,
				hubFetch: p.hubFetch,
				chunks: p.chunks,
				what,
				parts: params.parts,
				partSize: params.partSize,
				retry: params.retry,
				signal: p.signal,
				onBytes: (n) => {
					p.onBytes(n);
					p.params.onBytes?.(n);
				},
				onRetry: p.log,
			});
		} catch (err) {
			// Whatever arrived in order is a valid prefix: keep it for the next
			// run, unless the disk is full (then it is what fills it), also when
			// this file was only stopped because another one found the disk full.
			const noSpace = (e: unknown): boolean => e instanceof ModelfsError && e.code === "STORE_NO_SPACE";
			const full = noSpace(err) || (p.signal.aborted && noSpace(p.signal.reason));
			await writer.abort({ keepPartial: !full });
			throw err;
		}
		try {
			return await writer.commit(expect);
		} catch (err) {
			// The writer dropped the bytes. A bad transfer (a proxy, a flipped
			// bit, a corrupt partial from an earlier run) is tried once more from zero.
			if (err instanceof ModelfsError && err.code === "STORE_HASH_MISMATCH" && attempt < 2 && !p.signal.aborted) {
				p.log(`${what}: downloaded bytes do not match the hub's digest; downloading it again from the start`);
				continue;
			}
			if (err instanceof ModelfsError && err.code === "STORE_HASH_MISMATCH") {
				throw new HubError("HUB_CORRUPT_DOWNLOAD", `${what}: the downloaded bytes do not match the hub's ${f.lfs ? "sha256" : "git sha1"} (twice); nothing of it was kept`, {
					cause: err,
					hint: "the hub or a proxy served different bytes than the hub lists; run again later",
				});
			}
			throw err;
		}
	}
}

async function openWriter(store: Store, f: RemoteFile, what: string, signal: AbortSignal): Promise<BlobWriter> {
	// LFS files are checked by sha256; skipping the git sha1 (of no use for
	// them) leaves the hash worker one digest fewer per byte.
	const writer = await createBlobWriter({ store, resumeKey: resumeKeyOf(f), size: f.lfs ? undefined : f.size, signal, label: what });
	if (writer.resumedBytes <= f.size) return writer;
	await writer.abort();
	return createBlobWriter({ store, resumeKey: resumeKeyOf(f), size: f.lfs ? undefined : f.size, signal, label: what });
}
