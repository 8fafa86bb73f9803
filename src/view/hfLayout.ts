import { IndexError } from "../errors.js";
import type { CatalogRepo, SnapshotFile } from "../store/StoreTypes.js";
import { catalogSegments } from "./catalogSegments.js";
import { repoFolderName } from "./repoFolderName.js";
import { skipUnshowable } from "./skipUnshowable.js";
import type { ViewSkip } from "./ViewTree.js";
import type { ViewTreeBuilder } from "./ViewTreeBuilder.js";

export interface HfLayoutParams {
	/** The repos to show (already filtered). */
	repos: readonly CatalogRepo[];
	/** Where the nodes go. */
	builder: ViewTreeBuilder;
	/** Segments of the view prefix (e.g. ["huggingface", "hub"]). */
	prefix: readonly string[];
	/**
	 * Show snapshot files as regular files (and no `blobs/`), like
	 * huggingface_hub's own cache on a filesystem without symlinks.
	 * @default false
	 */
	files?: boolean;
	/** Told of every entry the view cannot show (and leaves out). */
	/** Whether the file at this repo path is one the daemon reads ahead on open. */
	prefetch: (path: string) => boolean;
	onSkip: (skip: ViewSkip) => void;
}

/**
 * The Hugging Face hub cache (DESIGN.md), exactly what huggingface_hub,
 * vLLM, SGLang and TensorRT-LLM read:
 *
 *   models--org--name/blobs/<etag>
 *   models--org--name/snapshots/<commit>/<path> -> ../../blobs/<etag>
 *   models--org--name/refs/<branch>            (the commit, no newline)
 *
 * Refs are shown only for commits the view has a snapshot of, so an offline
 * loader never follows a ref into a missing folder. No `trees/`, `.locks/`,
 * `.no_exist/` or CACHEDIR.TAG: those are written by huggingface_hub and
 * belong to the overlay's upper layer.
 */
export function hfLayout(params: HfLayoutParams): void {
	const { builder, prefix } = params;
	const files = params.files ?? false;
	for (const repo of params.repos) {
		if (repo.snapshots.length === 0) continue;
		const label = `${repo.type === "dataset" ? "datasets/" : ""}${repo.name}`;
		skipUnshowable({ at: { repo: label }, onSkip: params.onSkip, add: () => addRepo(repo, label) });
	}

	function addRepo(repo: CatalogRepo, label: string): void {
		catalogSegments({ value: repo.name, what: "repo name" });
		const root = [...prefix, repoFolderName({ type: repo.type, name: repo.name })];
		const blobEtags = new Map<string, string>();
		const shown = new Set<string>();
		for (const snapshot of repo.snapshots) {
			skipUnshowable({
				at: { repo: label, commit: snapshot.commit },
				onSkip: params.onSkip,
				add: () => {
					const commit = catalogSegments({ value: snapshot.commit, what: `commit of ${repo.name}`, nested: false })[0];
					builder.addDir([...root, "snapshots", commit]);
					shown.add(snapshot.commit);
				},
			});
			if (!shown.has(snapshot.commit)) continue;
			const where = `${repo.name}@${snapshot.commit}`;
			for (const file of snapshot.files) {
				skipUnshowable({ at: { repo: label, commit: snapshot.commit, path: file.path }, onSkip: params.onSkip, add: () => addFile(root, snapshot.commit, where, file, blobEtags) });
			}
		}
		builder.addDir([...root, "refs"]);
		for (const [ref, commit] of Object.entries(repo.refs)) {
			if (!shown.has(commit)) continue;
			skipUnshowable({
				at: { repo: label, commit, path: `refs/${ref}` },
				onSkip: params.onSkip,
				add: () => {
					const segments = catalogSegments({ value: ref, what: `ref name of ${repo.name}` });
					builder.addLeaf([...root, "refs", ...segments], { kind: "file", name: segments[segments.length - 1], size: Buffer.byteLength(commit, "utf8"), content: commit });
				},
			});
		}
	}

	function addFile(root: string[], commit: string, where: string, file: SnapshotFile, blobEtags: Map<string, string>): void {
		const segments = catalogSegments({ value: file.path, what: `file path in ${where}` });
		const etag = catalogSegments({ value: file.etag, what: `etag of ${where}:${file.path}`, nested: false })[0];
		const name = segments[segments.length - 1];
		const at = [...root, "snapshots", commit, ...segments];
		const prefetch = params.prefetch(file.path);
		if (files) {
			builder.addLeaf(at, { kind: "file", name, size: file.size, blake3: file.blake3, prefetch });
			return;
		}
		const known = blobEtags.get(etag);
		if (known !== undefined && known !== file.blake3) {
			throw new IndexError("CATALOG_ETAG_CONFLICT", `blob name ${etag} stands for two different contents (${known} and ${file.blake3}, at ${where}:${file.path})`, {
				hint: "the catalog is corrupt; run `modelfs verify` and re-ingest that repo",
			});
		}
		blobEtags.set(etag, file.blake3);
		builder.addLeaf([...root, "blobs", etag], { kind: "file", name: etag, size: file.size, blake3: file.blake3, prefetch });
		// snapshots/<commit>/<dirs...>/<name> -> ../../ + one ../ per dir.
		const up = "../".repeat(2 + segments.length - 1);
		builder.addLeaf(at, { kind: "symlink", name, target: `${up}blobs/${etag}` });
	}
}
