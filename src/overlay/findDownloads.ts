import { lstat, readdir, readFile, realpath, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { validateRepoId } from "../store/names/validateRepoId.js";
import { validateRevision } from "../store/names/validateRevision.js";
import type { Catalog, RepoType } from "../store/StoreTypes.js";

export interface FindDownloadsParams {
	/** The overlay's upper layer: where a backend's own downloads land. */
	upper: string;
	/** The mounted overlay (the backend's folder): snapshot links are followed through it, as the backend does. */
	merged: string;
	/** The store's newest catalog: snapshots it already holds are not downloads. */
	catalog: Catalog | null;
}

/** A complete snapshot a backend downloaded that the store does not hold. */
export interface Download {
	/** The repo folder under the target, e.g. `huggingface/hub/models--org--name`. */
	path: string;
	type: RepoType;
	name: string;
	commit: string;
	/** Refs of the folder that point at the commit. */
	refs: string[];
	/** Each file: its path in the repo, its real path through the overlay, size, and the blob name (etag) it links to. */
	entries: Array<{ path: string; source: string; size: number; name?: string }>;
	bytes: number;
}

export interface FindDownloadsResult {
	complete: Download[];
	/** Snapshots left out, and why (unfinished download, broken link, a shard the index lists is missing...). */
	incomplete: Array<{ path: string; reason: string }>;
}

const REPO_DIR = /^(models|datasets)--(.+)$/;
const BLOB_NAME = /^([0-9a-f]{40}|[0-9a-f]{64})$/;
/** Folders that never hold a repo folder. */
const SKIP = new Set([".locks", "blobs", "snapshots", "refs", ".no_exist", "trees", "xet"]);

/**
 * Snapshots a backend downloaded itself into an overlay's upper layer (a
 * model the store lacked) that are complete: no unfinished download
 * (`blobs/*.incomplete`) in the repo, every link resolves to a regular file,
 * and every shard a `*.index.json` weight map names is there. Snapshots the
 * catalog already holds with all those files are not listed. Only reads.
 */
export async function findDownloads(params: FindDownloadsParams): Promise<FindDownloadsResult> {
	const result: FindDownloadsResult = { complete: [], incomplete: [] };
	const repoDirs: string[] = [];
	const walk = async (rel: string, depth: number): Promise<void> => {
		const entries = await readdir(join(params.upper, rel), { withFileTypes: true }).catch(() => []);
		for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
			if (!e.isDirectory()) continue;
			const p = rel === "" ? e.name : `${rel}/${e.name}`;
			if (REPO_DIR.test(e.name)) repoDirs.push(p);
			else if (depth < 6 && !SKIP.has(e.name)) await walk(p, depth + 1);
		}
	};
	await walk("", 0);

	for (const rel of repoDirs) {
		const m = REPO_DIR.exec(basename(rel))!;
		const type: RepoType = m[1] === "models" ? "model" : "dataset";
		const name = m[2].split("--").join("/");
		const commits = (await readdir(join(params.upper, rel, "snapshots")).catch(() => [] as string[])).sort();
		if (commits.length === 0) continue;
		const merged = join(params.merged, rel);
		const unfinished = (await readdir(join(merged, "blobs")).catch(() => [] as string[])).filter((n) => n.endsWith(".incomplete"));
		const refs = await readRefs(join(merged, "refs"));
		const stored = params.catalog?.repos.find((r) => r.type === type && r.name === name);
		for (const commit of commits) {
			const where = `${rel}/snapshots/${commit}`;
			const skip = (reason: string) => result.incomplete.push({ path: where, reason });
			try {
				validateRepoId({ type, name });
				validateRevision(commit);
			} catch (err) {
				skip((err as Error).message);
				continue;
			}
			const entries: Download["entries"] = [];
			const broken: string[] = [];
			await walkSnapshot(join(merged, "snapshots", commit), "", entries, broken);
			const have = new Set(entries.map((e) => e.path));
			const storedSnap = stored?.snapshots.find((s) => s.commit === commit);
			if (storedSnap !== undefined && entries.every((e) => storedSnap.files.some((f) => f.path === e.path))) continue;
			if (unfinished.length > 0) {
				skip(`a download of this repo is unfinished (blobs/${unfinished[0]})`);
				continue;
			}
			if (broken.length > 0) {
				skip(`${broken[0]} links to a file that is not there`);
				continue;
			}
			if (entries.length === 0) continue;
			const missing = await missingShards(join(merged, "snapshots", commit), entries, have);
			if (missing !== null) {
				skip(missing);
				continue;
			}
			result.complete.push({
				path: rel,
				type,
				name,
				commit,
				refs: Object.entries(refs)
					.filter(([, c]) => c === commit)
					.map(([r]) => r)
					.sort(),
				entries,
				bytes: entries.reduce((n, e) => n + e.size, 0),
			});
		}
	}
	return result;
}

async function walkSnapshot(root: string, rel: string, out: Download["entries"], broken: string[]): Promise<void> {
	const entries = await readdir(rel === "" ? root : join(root, rel), { withFileTypes: true }).catch(() => []);
	for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
		const p = rel === "" ? e.name : `${rel}/${e.name}`;
		const full = join(root, p);
		if (e.isDirectory()) {
			await walkSnapshot(root, p, out, broken);
			continue;
		}
		if (e.name.endsWith(".incomplete")) continue;
		const s = await stat(full).catch(() => null);
		if (s === null || !s.isFile()) {
			broken.push(p);
			continue;
		}
		const source = (await lstat(full)).isSymbolicLink() ? await realpath(full) : full;
		const blob = basename(source);
		out.push({ path: p, source, size: s.size, name: basename(dirname(source)) === "blobs" && BLOB_NAME.test(blob) ? blob : undefined });
	}
}

/** A problem text when a `*.index.json` weight map names a shard the snapshot lacks, else null. */
async function missingShards(dir: string, entries: Download["entries"], have: Set<string>): Promise<string | null> {
	for (const e of entries) {
		if (!e.path.endsWith(".index.json")) continue;
		let map: unknown;
		try {
			map = (JSON.parse(await readFile(join(dir, e.path), "utf8")) as { weight_map?: unknown }).weight_map;
		} catch {
			return `${e.path} cannot be read as JSON`;
		}
		if (map === null || typeof map !== "object") continue;
		const base = dirname(e.path) === "." ? "" : `${dirname(e.path)}/`;
		for (const shard of new Set(Object.values(map as Record<string, unknown>))) {
			if (typeof shard === "string" && !have.has(`${base}${shard}`)) return `${e.path} lists ${shard}, which was not downloaded`;
		}
	}
	return null;
}

async function readRefs(dir: string, prefix = ""): Promise<Record<string, string>> {
	const refs: Record<string, string> = {};
	for (const e of await readdir(join(dir, prefix), { withFileTypes: true }).catch(() => [])) {
		const rel = prefix === "" ? e.name : `${prefix}/${e.name}`;
		if (e.isDirectory()) Object.assign(refs, await readRefs(dir, rel));
		else {
			const commit = (await readFile(join(dir, rel), "utf8").catch(() => "")).trim();
			if (commit !== "") refs[rel] = commit;
		}
	}
	return refs;
}
