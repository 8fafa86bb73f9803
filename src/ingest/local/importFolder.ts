import { createHash } from "node:crypto";
import { lstat, readdir, readFile, realpath, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { UsageError } from "../../errors.js";
import { commitSnapshot } from "../../store/index/commitSnapshot.js";
import { validateRepoId } from "../../store/names/validateRepoId.js";
import { validateRevision } from "../../store/names/validateRevision.js";
import type { Store } from "../../store/Store.js";
import type { RepoId, SnapshotFile } from "../../store/StoreTypes.js";
import type { ImportCallbacks, ImportReport, ImportSkip } from "./ImportTypes.js";
import { importEtag } from "./importEtag.js";
import { importLfsPatterns } from "./importLfsPatterns.js";
import { importSources } from "./importSources.js";
import { isInsideFolder } from "./isInsideFolder.js";

export interface ImportFolderParams extends ImportCallbacks {
	/** A store open for writing. */
	store: Store;
	/** A plain model folder (config.json, *.safetensors...). Never modified. */
	path: string;
	repo: RepoId;
	/**
	 * The snapshot's revision. @default a stable hash of the folder's paths
	 * and contents (40 hex), so importing the same folder twice gives one snapshot
	 */
	revision?: string;
	signal?: AbortSignal;
}

/** Folders that hold tool state, not model files (git, huggingface_hub's local_dir metadata). */
const SKIP_DIRS = new Set([".git", ".cache", ".locks", ".no_exist"]);

/**
 * Collects the regular files of the folder. A symlink is taken only when its
 * real path lies inside the folder (`realRoot`): a link out of it would store
 * whatever the importer can read. Links to folders are not followed, and
 * fifos, sockets and devices are never opened (a fifo would block).
 */
async function walk(root: string, realRoot: string, rel: string, out: Array<{ path: string; source: string; size: number }>, skip: (s: ImportSkip) => void): Promise<void> {
	const dir = rel ? join(root, rel) : root;
	const names = await readdir(dir).catch((err: Error) => {
		skip({ path: dir, reason: "unreadable", detail: err.message });
		return [] as string[];
	});
	for (const n of names.sort()) {
		const relPath = rel ? `${rel}/${n}` : n;
		const full = join(root, relPath);
		const lst = await lstat(full).catch((err: Error) => {
			skip({ path: full, reason: "unreadable", detail: err.message });
			return null;
		});
		if (!lst) continue;
		if (lst.isDirectory()) {
			if (!SKIP_DIRS.has(n)) await walk(root, realRoot, relPath, out, skip);
			continue;
		}
		if (n.endsWith(".incomplete")) {
			skip({ path: full, reason: "incomplete", detail: "an unfinished download" });
			continue;
		}
		let source = full;
		if (lst.isSymbolicLink()) {
			try {
				source = await realpath(full);
			} catch (err) {
				const code = (err as NodeJS.ErrnoException).code;
				if (code === "ELOOP") skip({ path: full, reason: "symlink-loop", detail: "ELOOP, a loop of symlinks" });
				else if (code === "ENOENT") skip({ path: full, reason: "broken-symlink", detail: "its target does not exist" });
				else skip({ path: full, reason: "unreadable", detail: (err as Error).message });
				continue;
			}
			if (!isInsideFolder({ path: source, folder: realRoot })) {
				skip({ path: full, reason: "outside-cache", detail: `points to ${source}, outside ${realRoot}` });
				continue;
			}
		}
		const st = lst.isSymbolicLink() ? await stat(source).catch(() => null) : lst;
		if (!st) {
			skip({ path: full, reason: "broken-symlink", detail: "its target does not exist" });
			continue;
		}
		if (!st.isFile()) {
			skip({ path: full, reason: "not-a-file", detail: lst.isSymbolicLink() ? "a symlink to something that is not a regular file" : "not a regular file" });
			continue;
		}
		out.push({ path: relPath, source, size: st.size });
	}
}

/**
 * Imports a plain model folder as `repo@revision` (refs: main -> it). Files
 * are hashed and copied in parallel; each gets the etag the hub would give
 * it (LFS sha256 for weights and large files, git sha1 otherwise).
 */
export async function importFolder(params: ImportFolderParams): Promise<ImportReport> {
	const { store } = params;
	validateRepoId(params.repo);
	if (params.revision !== undefined) validateRevision(params.revision);
	const root = resolve(params.path);
	const st = await stat(root).catch((err: NodeJS.ErrnoException) => {
		if (err.code === "ENOENT") throw new UsageError("IMPORT_PATH_NOT_FOUND", `${root} does not exist`);
		throw new UsageError("IMPORT_PATH_UNREADABLE", `cannot read ${root}: ${err.code}`, { cause: err });
	});
	if (!st.isDirectory()) throw new UsageError("IMPORT_NOT_A_FOLDER", `${root} is not a folder`, { hint: "give the folder that holds the model's files" });
	const skipped: ImportSkip[] = [];
	const skip = (s: ImportSkip) => {
		skipped.push(s);
		params.onSkip?.(s);
	};
	const entries: Array<{ path: string; source: string; size: number }> = [];
	await walk(root, await realpath(root), "", entries, skip);
	if (entries.length === 0) throw new UsageError("IMPORT_EMPTY", `${root} holds no files to import`);
	const lfsPatterns = importLfsPatterns(await readFile(join(root, ".gitattributes"), "utf8").catch(() => ""));
	const unique = new Map(entries.map((e) => [e.source, { path: e.source, size: e.size }]));
	const result = await importSources({ store, sources: [...unique.values()], signal: params.signal, onTotal: params.onTotal, onProgress: params.onProgress, onSkip: skip });
	const files: SnapshotFile[] = [];
	for (const e of entries) {
		const blob = result.stored.get(e.source);
		if (!blob) continue;
		files.push({ path: e.path, blake3: blob.blake3, size: blob.size, etag: importEtag({ path: e.path, size: blob.size, sha256: blob.sha256, sha1: blob.sha1, lfsPatterns }) });
	}
	if (files.length === 0) throw new UsageError("IMPORT_EMPTY", `no file of ${root} could be imported`, { hint: "see the skipped files above" });
	const commit = params.revision ?? contentRevision(files);
	const { generation } = await commitSnapshot({ store, snapshot: { repo: params.repo, commit, files }, refs: { main: commit } });
	return {
		repos: [{ type: params.repo.type, name: params.repo.name, snapshots: [{ commit, files: files.length, bytes: files.reduce((n, f) => n + f.size, 0) }], refs: { main: commit } }],
		files: files.length,
		bytesCopied: result.bytesCopied,
		bytesDeduplicated: result.bytesDeduplicated,
		skipped,
		generation,
	};
}

/** A commit-shaped (40 hex) digest of the sorted paths and their BLAKE3 keys. */
function contentRevision(files: SnapshotFile[]): string {
	const h = createHash("sha1");
	for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : 1))) h.update(`${f.path}\0${f.blake3}\n`);
	return h.digest("hex");
}
