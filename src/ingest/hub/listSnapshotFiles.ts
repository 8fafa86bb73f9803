import type { ListFileEntry } from "@huggingface/hub";
import { datasetInfo, listFiles, modelInfo } from "@huggingface/hub";
import { HubError, ModelfsError } from "../../errors.js";
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
	const commit = await withRetries(retry, () =>
		malformedAsHubError(`${label}@${revision}`, async () => {
			const fetch = hubFetch.apiFetch(`${label}@${revision}`);
			const info =
				repo.type === "dataset"
					? await datasetInfo({ name: repo.name, revision, hubUrl, accessToken, fetch, additionalFields: ["sha"] })
					: await modelInfo({ name: repo.name, revision, hubUrl, accessToken, fetch, additionalFields: ["sha"] });
			return (info as { sha?: unknown }).sha;
		}),
	);
	if (typeof commit !== "string" || !SHA1.test(commit)) {
		throw new HubError("HUB_BAD_RESPONSE", `the hub gave no commit sha for ${label}@${revision} (got ${JSON.stringify(commit)})`, {
			hint: "HF_ENDPOINT must point at a Hugging Face hub (or a mirror that serves the API)",
		});
	}
	const where = `${label}@${commit}`;
	const entries = await withRetries(retry, () =>
		malformedAsHubError(`the file list of ${where}`, async () => {
			const fetch = hubFetch.apiFetch(`the file list of ${where}`);
			const out: ListFileEntry[] = [];
			for await (const e of listFiles({ repo, revision: commit, recursive: true, hubUrl, accessToken, fetch })) out.push(e);
			if (!out.every((e) => typeof e === "object" && e !== null)) throw new TypeError("a listing entry is not an object");
			return out;
		}),
	);
	const files: RemoteFile[] = [];
	const seen = new Set<string>();
	for (const e of entries) {
		if (e.type === "directory") continue;
		const path = e.path;
		if (typeof path !== "string" || !isSafeRelativePath(path)) {
			throw new HubError(
				"HUB_UNSAFE_PATH",
				`${where} lists a file named ${JSON.stringify(String(path).length > 120 ? `${String(path).slice(0, 100)}...` : String(path))}, which ${unsafeBecause(String(path))}; nothing was downloaded`,
				{
					hint: "this repo cannot be ingested as is: report the file name to its owner",
				},
			);
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
	// A file and a folder of one name cannot both be in a snapshot folder:
	// refused now, not when the snapshot is committed after the download.
	for (const path of seen) {
		for (let i = path.indexOf("/"); i > 0; i = path.indexOf("/", i + 1)) {
			if (seen.has(path.slice(0, i))) {
				throw new HubError("HUB_UNSAFE_PATH", `${where} lists ${path.slice(0, i)} both as a file and as a folder; nothing was downloaded`, {
					hint: "this repo cannot be ingested as is: report the file name to its owner",
				});
			}
		}
	}
	files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
	return { repo, revision, commit, files };
}

/** Why isSafeRelativePath refused `path`, for the message. */
function unsafeBecause(path: string): string {
	if (path.includes("\0")) return "holds a NUL byte";
	if (path.startsWith("/")) return "is absolute and would escape the snapshot folder";
	if (path.includes("\\")) return "holds a backslash";
	const parts = path.split("/");
	if (parts.some((p) => p === "..")) return "would escape the snapshot folder";
	const long = parts.find((p) => Buffer.byteLength(p, "utf8") > 255);
	if (long !== undefined) return `has a name of ${Buffer.byteLength(long, "utf8")} bytes, which no view can show (at most 255)`;
	return "has an empty or `.` part";
}

/**
 * Runs one metadata call. apiFetch already turns every failed request into
 * a ModelfsError; anything else thrown here is the library failing on the
 * answer (not JSON, not a list): a HubError, not an unexpected crash.
 */
async function malformedAsHubError<T>(what: string, fn: () => Promise<T>): Promise<T> {
	try {
		return await fn();
	} catch (err) {
		if (err instanceof ModelfsError) throw err;
		throw new HubError("HUB_BAD_RESPONSE", `the hub's answer about ${what} is malformed (${String((err as Error)?.message ?? err).slice(0, 200)})`, {
			cause: err,
			hint: "HF_ENDPOINT must point at a Hugging Face hub (or a mirror that serves the API)",
		});
	}
}
