import { importEtag } from "../ingest/local/importEtag.js";
import { importSources } from "../ingest/local/importSources.js";
import { commitSnapshot } from "../store/index/commitSnapshot.js";
import type { Store } from "../store/Store.js";
import type { Catalog, SnapshotFile } from "../store/StoreTypes.js";
import type { Download } from "./findDownloads.js";

export interface ImportDownloadsParams {
	/** A store open for writing. */
	store: Store;
	/** Complete snapshots found by findDownloads. */
	downloads: Download[];
	/** The catalog before the import: refs the store already has are left as they are. */
	catalog: Catalog | null;
	signal?: AbortSignal;
	/** Bytes read since the last call. */
	onProgress?: (bytes: number) => void;
}

export interface ImportDownloadsResult {
	/** Snapshots committed (every file stored and verified against its blob name). */
	imported: Array<{ path: string; type: Download["type"]; name: string; commit: string; files: number; bytes: number; refs: string[] }>;
	/** Snapshots not committed, and why. */
	failed: Array<{ path: string; reason: string }>;
	bytesCopied: number;
	generation: number | null;
}

/**
 * Brings complete downloads into the store with the local import code
 * (importSources: blobs named by sha256 or git sha1 are checked against the
 * name; blobs the store has are not read) and commits each snapshot only
 * when every one of its files was stored: a snapshot with a file that did
 * not verify is left out whole. New refs are set; a ref the store already
 * has (another commit of main) is not moved.
 */
export async function importDownloads(params: ImportDownloadsParams): Promise<ImportDownloadsResult> {
	const { store } = params;
	const result: ImportDownloadsResult = { imported: [], failed: [], bytesCopied: 0, generation: null };
	if (params.downloads.length === 0) return result;
	const sources = new Map<string, { path: string; size: number; name?: string }>();
	for (const d of params.downloads) for (const e of d.entries) if (!sources.has(e.source)) sources.set(e.source, { path: e.source, size: e.size, name: e.name });
	const stored = await importSources({ store, sources: [...sources.values()], signal: params.signal, onProgress: params.onProgress });
	result.bytesCopied = stored.bytesCopied;
	for (const d of params.downloads) {
		const bad = d.entries.find((e) => !stored.stored.has(e.source));
		if (bad !== undefined) {
			const skip = stored.skipped.get(bad.source);
			result.failed.push({ path: `${d.path}/snapshots/${d.commit}`, reason: `${bad.path} did not verify: ${skip?.reason ?? "not stored"} (${skip?.detail ?? "no detail"})` });
			continue;
		}
		const files: SnapshotFile[] = d.entries.map((e) => {
			const blob = stored.stored.get(e.source)!;
			return { path: e.path, blake3: blob.blake3, size: blob.size, etag: e.name ?? importEtag({ path: e.path, size: blob.size, sha256: blob.sha256, sha1: blob.sha1 }) };
		});
		const known = params.catalog?.repos.find((r) => r.type === d.type && r.name === d.name)?.refs ?? {};
		const refs = Object.fromEntries(d.refs.filter((r) => known[r] === undefined).map((r) => [r, d.commit]));
		const { generation } = await commitSnapshot({ store, snapshot: { repo: { type: d.type, name: d.name }, commit: d.commit, files }, refs });
		result.generation = generation;
		result.imported.push({ path: d.path, type: d.type, name: d.name, commit: d.commit, files: files.length, bytes: d.bytes, refs: Object.keys(refs) });
	}
	return result;
}
