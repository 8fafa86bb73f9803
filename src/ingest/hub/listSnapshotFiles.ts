import type { ListFileEntry } from "@huggingface/hub";
import { datasetInfo, listFiles, modelInfo } from "@huggingface/hub";
import { HubError } from "../../errors.js";
import { isSafeRelativePath } from "../../store/names/validateSnapshot.js";
import type { RepoId } from "../../store/StoreTypes.js";
import type { HubFetch } from "./createHubFetch.js";
import type { RemoteFile, RemoteSnapshot } from "./IngestTypes.js";
import type { RetryPolicy } from "./withRetries.js";
import { withRetries } from "./withRetries.js";

export interface ListSnapshotFilesParams {
	repo: RepoId;
	/** Branch, tag or commit sha. @default "main" */
	revision?: string;
	/** The endpoint (hubEndpoint()). */
	hubUrl: string;
	/** `hf_...` token, or undefined. */
	accessToken?: string;
	/** From createHubFetch: maps failures to HubError. */
	hubFetch: HubFetch;
	retry?: RetryPolicy;
	signal?: AbortSignal;
	/** Told about retries (a log line). */
	onRetry?: (message: string) => void;
}

const SHA1 = /^[0-9a-f]{40}$/;
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Pins `revision` to a commit (modelInfo / datasetInfo with the `sha`
 * field) and lists every file at that commit (listFiles, recursive, paged),
 * so a branch that moves during the ingest cannot mix two commits. Paths
 * that would escape the snapshot folder and malformed digests are refused
 * here, before anything is downloaded.
 */
export async function listSnapshotFiles(params: ListSnapshotFilesParams): Promise<RemoteSnapshot> {
	const { repo, hubUrl, accessToken, hubFetch } = params;
	const revision = params.revision ?? "main";
	const retry = {
		...params.retry,
		signal: params.signal,
		onRetry: (err: Error, _attempt: number, delay: number) => params.onRetry?.(`${err.message}; retrying in ${(delay / 1000).toFixed(1)} s`),
	};
	const label = `${repo.type === "dataset" ? "dataset " : ""}${repo.name}`;
	const commit = await withRetries(retry, async () => {
		const fetch = hubFetch.apiFetch(`${label}@${revision}`);
		const info =
			repo.type === "dataset"
				? await datasetInfo({ name: repo.name, revision, hubUrl, accessToken, fetch, additionalFields: ["sha"] })
				: await modelInfo({ name: repo.name, revision, hubUrl, accessToken, fetch, additionalFields: ["sha"] });
		return (info as { sha?: unknown }).sha;
	});
	if (typeof commit !== "string" || !SHA1.test(commit)) {
		throw new HubError("HUB_BAD_RESPONSE", `the hub gave no commit sha for ${label}@${revision} (got ${JSON.stringify(commit)})`, {
			hint: "HF_ENDPOINT must point at a Hugging Face hub (or a mirror that serves the API)",
		});
	}
	const where = `${label}@${commit}`;
	const entries = await withRetries(retry, async () => {
		const fetch = hubFetch.apiFetch(`the file list of ${where}`);
		const out: ListFileEntry[] = [];
		for await (const e of listFiles({ repo, revision: commit, recursive: true, hubUrl, accessToken, fetch })) out.push(e);
		return out;
	});
	const files: RemoteFile[] = [];
	const seen = new Set<string>();
	for (const e of entries) {
		if (e.type === "directory") continue;
		const path = e.path;
		if (!isSafeRelativePath(path)) {
			throw new HubError("HUB_UNSAFE_PATH", `${where} lists a file named ${JSON.stringify(path)}, which would escape the snapshot folder; nothing was downloaded`, {
				hint: "this repo cannot be ingested as is: report the file name to its owner",
			});
		}
		if (seen.has(path)) throw new HubError("HUB_BAD_RESPONSE", `${where} lists ${path} twice`);
		seen.add(path);
		if (e.type !== "file" || !Number.isSafeInteger(e.size) || e.size < 0) {
			throw new HubError("HUB_BAD_RESPONSE", `${where}: the listing of ${path} is malformed (type ${e.type}, size ${e.size})`);
		}
		if (e.lfs) {
			const sha256 = String(e.lfs.oid).toLowerCase();
			if (!SHA256.test(sha256) || e.lfs.size !== e.size) {
				throw new HubError("HUB_BAD_RESPONSE", `${where}: ${path} has a malformed LFS oid or size`);
			}
			files.push({ path, size: e.size, lfs: true, sha256, sha1: null, etag: sha256 });
		} else {
			const sha1 = String(e.oid ?? "").toLowerCase();
			if (!SHA1.test(sha1)) throw new HubError("HUB_BAD_RESPONSE", `${where}: ${path} has no git oid`);
			files.push({ path, size: e.size, lfs: false, sha256: null, sha1, etag: sha1 });
		}
	}
	files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
	return { repo, revision, commit, files };
}
