import { lstat, readdir, readFile, readlink, realpath, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { UsageError } from "../../errors.js";
import { commitSnapshot } from "../../store/index/commitSnapshot.js";
import { validateRepoId } from "../../store/names/validateRepoId.js";
import { validateRevision } from "../../store/names/validateRevision.js";
import { removeBlobs } from "../../store/objects/removeBlobs.js";
import type { Store } from "../../store/Store.js";
import type { RepoType, SnapshotFile } from "../../store/StoreTypes.js";
import type { ImportCallbacks, ImportReport, ImportSkip } from "./ImportTypes.js";
import { importEtag } from "./importEtag.js";
import { type ImportSource, importSources } from "./importSources.js";
import { isInsideFolder } from "./isInsideFolder.js";

export interface ImportHfCacheParams extends ImportCallbacks {
	/** A store open for writing. */
	store: Store;
	/**
	 * Hugging Face caches (`~/.cache/huggingface/hub`, or `HF_HOME` with a
	 * `hub/` inside) or single repo folders (`models--org--name`). Never modified.
	 */
	paths: string[];
	/** Take LFS blob names as their sha256 without hashing it. @default false */
	trustNames?: boolean;
	signal?: AbortSignal;
}

interface RepoDir {
	dir: string;
	type: RepoType;
	name: string;
}

interface Entry {
	/** Path inside the snapshot. */
	path: string;
	/** Real path of the content. */
	source: string;
	size: number;
	name?: string;
}

const REPO_DIR = /^(models|datasets)--(.+)$/;
const BLOB_NAME = /^([0-9a-f]{40}|[0-9a-f]{64})$/;

function repoDirOf(dir: string): RepoDir | null {
	const m = REPO_DIR.exec(basename(dir));
	if (!m) return null;
	return { dir, type: m[1] === "models" ? "model" : "dataset", name: m[2].split("--").join("/") };
}

async function isDir(path: string): Promise<boolean> {
	return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

/** The repo folders a command-line path stands for. */
async function findRepoDirs(path: string): Promise<RepoDir[]> {
	const abs = resolve(path);
	const st = await stat(abs).catch((err: NodeJS.ErrnoException) => {
		if (err.code === "ENOENT")
			throw new UsageError("IMPORT_PATH_NOT_FOUND", `${abs} does not exist`, { hint: "give the path of a Hugging Face cache, e.g. ~/.cache/huggingface/hub" });
		throw new UsageError("IMPORT_PATH_UNREADABLE", `cannot read ${abs}: ${err.code}`, { cause: err });
	});
	if (!st.isDirectory()) throw new UsageError("IMPORT_NOT_A_CACHE", `${abs} is not a folder`, { hint: "give the path of a Hugging Face cache folder" });
	const self = repoDirOf(abs);
	if (self && ((await isDir(join(abs, "snapshots"))) || (await isDir(join(abs, "blobs"))))) return [self];
	const found: RepoDir[] = [];
	for (const base of [abs, join(abs, "hub")]) {
		const names = await readdir(base).catch(() => [] as string[]);
		for (const n of names.sort()) {
			const r = repoDirOf(join(base, n));
			if (r && (await isDir(r.dir))) found.push(r);
		}
		if (found.length > 0) break;
	}
	if (found.length === 0) {
		throw new UsageError("IMPORT_NOT_A_CACHE", `${abs} is not a Hugging Face cache: no models--* or datasets--* folders in it`, {
			hint: "for a plain model folder use `modelfs import <folder> --as org/name`",
		});
	}
	return found;
}

const COMMIT = /^[0-9a-f]{40}$/;

/**
 * The refs of one repo folder. A ref whose name or content is not usable is
 * reported and left out, so one bad ref does not stop the import of the rest.
 * Ref links and folders reached through links are not followed.
 */
async function readRefs(dir: string, skip: (s: ImportSkip) => void, prefix = ""): Promise<Record<string, string>> {
	const refs: Record<string, string> = {};
	const names = await readdir(join(dir, prefix)).catch(() => [] as string[]);
	for (const n of names.sort()) {
		const rel = prefix ? `${prefix}/${n}` : n;
		const full = join(dir, rel);
		const st = await lstat(full).catch(() => null);
		if (st?.isDirectory()) Object.assign(refs, await readRefs(dir, skip, rel));
		else if (st?.isFile()) {
			try {
				validateRevision(rel);
			} catch (err) {
				skip({ path: full, reason: "invalid-name", detail: (err as Error).message });
				continue;
			}
			const commit = (await readFile(full, "utf8").catch(() => "")).trim();
			if (!commit) continue;
			if (!COMMIT.test(commit)) {
				skip({ path: full, reason: "invalid-ref", detail: `holds ${JSON.stringify(commit.slice(0, 80))}, not a 40-hex commit` });
				continue;
			}
			refs[rel] = commit;
		} else if (st) skip({ path: full, reason: "not-a-file", detail: "a ref that is not a regular file" });
	}
	return refs;
}

/**
 * Walks one snapshot folder; symlinks into blobs/ give the etag, anything
 * else is hashed for one. A symlink is taken only when its real path lies in
 * the repo's own `blobs/` (`blobsDir`, a real path): a link out of the cache
 * would store (and serve to every user) a file the importer happened to be
 * able to read. Links to folders are never followed, and only regular files
 * are opened (a fifo would block the read).
 */
async function walkSnapshot(root: string, rel: string, out: Entry[], skip: (s: ImportSkip) => void, blobsDir: string | null): Promise<void> {
	const dir = rel ? join(root, rel) : root;
	let names: string[];
	try {
		names = await readdir(dir);
	} catch (err) {
		skip({ path: dir, reason: "unreadable", detail: (err as Error).message });
		return;
	}
	for (const n of names.sort()) {
		const relPath = rel ? `${rel}/${n}` : n;
		const full = join(root, relPath);
		const lst = await lstat(full).catch((err: NodeJS.ErrnoException) => {
			skip({ path: full, reason: "unreadable", detail: err.message });
			return null;
		});
		if (!lst) continue;
		if (lst.isDirectory()) {
			await walkSnapshot(root, relPath, out, skip, blobsDir);
			continue;
		}
		if (n.endsWith(".incomplete")) {
			skip({ path: full, reason: "incomplete", detail: "an unfinished download" });
			continue;
		}
		let name: string | undefined;
		if (lst.isSymbolicLink()) {
			const target = await readlink(full);
			let real: string;
			try {
				real = await realpath(full);
			} catch (err) {
				const code = (err as NodeJS.ErrnoException).code;
				if (code === "ELOOP") skip({ path: full, reason: "symlink-loop", detail: `points to ${target}: ELOOP, a loop of symlinks` });
				else if (code === "ENOENT") skip({ path: full, reason: "broken-symlink", detail: `points to ${target}, which does not exist` });
				else skip({ path: full, reason: "unreadable", detail: (err as Error).message });
				continue;
			}
			if (blobsDir === null || !isInsideFolder({ path: real, folder: blobsDir })) {
				skip({ path: full, reason: "outside-cache", detail: `points to ${real}, outside ${blobsDir ?? "the repo's blobs/ folder"}` });
				continue;
			}
			const tst = await stat(real).catch(() => null);
			if (!tst) {
				skip({ path: full, reason: "broken-symlink", detail: `points to ${target}, which does not exist` });
				continue;
			}
			if (!tst.isFile()) {
				skip({ path: full, reason: "not-a-file", detail: `points to ${target}, which is not a regular file` });
				continue;
			}
			if (BLOB_NAME.test(basename(real))) name = basename(real);
			out.push({ path: relPath, source: real, size: tst.size, name });
			continue;
		}
		if (!lst.isFile()) {
			skip({ path: full, reason: "not-a-file", detail: "not a regular file or symlink" });
			continue;
		}
		out.push({ path: relPath, source: full, size: lst.size });
	}
}

/**
 * Folds existing Hugging Face caches into the store: every repo, snapshot
 * and ref. LFS blobs are checked against their sha256 name (unless
 * `trustNames`), other blobs against their git sha1 name; content the store
 * already has is not read. Broken symlinks, `.incomplete` and unreadable
 * files are reported and skipped. Each snapshot is committed once all its
 * (remaining) files are stored. The source is only read.
 */
export async function importHfCache(params: ImportHfCacheParams): Promise<ImportReport> {
	const { store } = params;
	if (!Array.isArray(params.paths) || params.paths.length === 0) throw new UsageError("IMPORT_NO_PATHS", "give at least one cache folder to import");
	const skipped: ImportSkip[] = [];
	const skip = (s: ImportSkip) => {
		skipped.push(s);
		params.onSkip?.(s);
	};
	const repoDirs: RepoDir[] = [];
	for (const p of params.paths) repoDirs.push(...(await findRepoDirs(p)));

	interface SnapPlan {
		repo: RepoDir;
		commit: string;
		entries: Entry[];
	}
	const plans: SnapPlan[] = [];
	const refsByRepo = new Map<RepoDir, Record<string, string>>();
	for (const repo of repoDirs) {
		try {
			validateRepoId({ type: repo.type, name: repo.name });
		} catch (err) {
			skip({ path: repo.dir, reason: "invalid-name", detail: (err as Error).message });
			continue;
		}
		refsByRepo.set(repo, await readRefs(join(repo.dir, "refs"), skip));
		const blobsDir = await realpath(join(repo.dir, "blobs")).catch(() => null);
		const blobNames = await readdir(join(repo.dir, "blobs")).catch(() => [] as string[]);
		for (const b of blobNames) if (b.endsWith(".incomplete")) skip({ path: join(repo.dir, "blobs", b), reason: "incomplete", detail: "an unfinished download" });
		const commits = await readdir(join(repo.dir, "snapshots")).catch(() => [] as string[]);
		for (const commit of commits.sort()) {
			const snapDir = join(repo.dir, "snapshots", commit);
			const snapLst = await lstat(snapDir).catch(() => null);
			if (snapLst?.isSymbolicLink()) {
				// A snapshot linked to /etc would import all of it.
				skip({ path: snapDir, reason: "not-a-file", detail: "a symlink to a folder; snapshot folders are not followed" });
				continue;
			}
			if (!snapLst?.isDirectory()) continue;
			try {
				validateRevision(commit);
			} catch (err) {
				skip({ path: snapDir, reason: "invalid-name", detail: (err as Error).message });
				continue;
			}
			const entries: Entry[] = [];
			await walkSnapshot(snapDir, "", entries, skip, blobsDir);
			plans.push({ repo, commit, entries });
		}
	}

	const sources = new Map<string, ImportSource>();
	const usedBy = new Map<string, string[]>();
	for (const plan of plans) {
		for (const e of plan.entries) {
			if (!sources.has(e.source)) sources.set(e.source, { path: e.source, size: e.size, name: e.name });
			const list = usedBy.get(e.source) ?? [];
			list.push(join(plan.repo.dir, "snapshots", plan.commit, e.path));
			usedBy.set(e.source, list);
		}
	}
	const result = await importSources({
		store,
		sources: [...sources.values()],
		trustNames: params.trustNames,
		signal: params.signal,
		onTotal: params.onTotal,
		onProgress: params.onProgress,
		// Name the snapshot files that lose this blob, not only the blob.
		onSkip: (s) => skip({ ...s, detail: `${s.detail}; used by ${(usedBy.get(s.path) ?? []).join(", ")}` }),
	});

	const report: ImportReport = { repos: [], files: 0, bytesCopied: result.bytesCopied, bytesDeduplicated: result.bytesDeduplicated, skipped, generation: 0 };
	const committedBlobs = new Set<string>();
	try {
		for (const repo of repoDirs) {
			const repoPlans = plans.filter((p) => p.repo === repo);
			const refs = refsByRepo.get(repo) ?? {};
			const committed: ImportReport["repos"][number] = { type: repo.type, name: repo.name, snapshots: [], refs: {} };
			for (const plan of repoPlans) {
				const files: SnapshotFile[] = [];
				for (const e of plan.entries) {
					const blob = result.stored.get(e.source);
					if (!blob) continue;
					files.push({ path: e.path, blake3: blob.blake3, size: blob.size, etag: e.name ?? importEtag({ path: e.path, size: blob.size, sha256: blob.sha256, sha1: blob.sha1 }) });
				}
				if (files.length === 0) {
					skip({ path: join(repo.dir, "snapshots", plan.commit), reason: "empty", detail: "no file of this snapshot could be imported" });
					continue;
				}
				const snapRefs = Object.fromEntries(Object.entries(refs).filter(([, c]) => c === plan.commit));
				const { generation } = await commitSnapshot({ store, snapshot: { repo: { type: repo.type, name: repo.name }, commit: plan.commit, files }, refs: snapRefs });
				report.generation = generation;
				for (const f of files) committedBlobs.add(f.blake3);
				report.files += files.length;
				committed.snapshots.push({ commit: plan.commit, files: files.length, bytes: files.reduce((n, f) => n + f.size, 0) });
				Object.assign(committed.refs, snapRefs);
			}
			for (const [ref, commit] of Object.entries(refs)) {
				if (!committed.snapshots.some((s) => s.commit === commit)) {
					skip({ path: join(repo.dir, "refs", ref), reason: "dangling-ref", detail: `points to ${commit}, which has no imported snapshot` });
				}
			}
			if (committed.snapshots.length > 0) report.repos.push(committed);
		}
	} catch (err) {
		// An aborted import leaves no blob that no snapshot uses: drop the ones
		// this run added, except those a snapshot committed before the failure uses.
		const added = [...result.stored.values()].filter((r) => r.existed === false && !committedBlobs.has(r.blake3)).map((r) => r.blake3);
		await removeBlobs({ store, blobs: [...new Set(added)] }).catch(() => undefined);
		throw err;
	}
	return report;
}
