import { IndexError, StoreError } from "../../errors.js";
import { publishCatalog } from "../catalog/publishCatalog.js";
import { validateRevision } from "../names/validateRevision.js";
import { validateSnapshot } from "../names/validateSnapshot.js";
import type { Store } from "../Store.js";
import type { Snapshot, SnapshotFile } from "../StoreTypes.js";
import { indexTransaction } from "./indexTransaction.js";
import { hexKey, type RepoKey, type SnapshotKey } from "./StoreIndex.js";

export interface CommitSnapshotParams {
	/** A store open for writing. */
	store: Store;
	/** The snapshot; every file's blob must already be in the index. */
	snapshot: Snapshot;
	/** Refs to set on the repo (branch or tag -> commit), e.g. `{ main: snapshot.commit }`. */
	refs?: Record<string, string>;
	/**
	 * Replace the file list of an existing snapshot of the same commit instead
	 * of merging into it. A commit's files never change, so by default two
	 * partial copies of it (two caches, two --include runs) add up. @default false
	 */
	replace?: boolean;
}

/**
 * Makes a snapshot visible: checks that every blob is indexed with the right
 * size, then in ONE LMDB transaction writes the snapshot, merges the refs
 * and bumps the generation, then publishes the catalog. Re-committing the
 * same repo@commit merges the file lists (see `replace`).
 */
export async function commitSnapshot(params: CommitSnapshotParams): Promise<{ generation: number }> {
	const { store, snapshot } = params;
	if (!store) throw new TypeError("commitSnapshot: `store` is required");
	const index = store.index;
	if (store.readOnly || !index) throw new IndexError("INDEX_READ_ONLY", `cannot commit ${snapshot?.repo?.name}@${snapshot?.commit}: ${store.dir} is open read-only`);
	validateSnapshot(snapshot);
	const refs = params.refs ?? {};
	for (const [ref, commit] of Object.entries(refs)) {
		validateRevision(ref);
		if (typeof commit !== "string" || commit === "") throw new TypeError(`commitSnapshot: ref ${ref} must name a commit`);
	}
	const label = `${snapshot.repo.name}@${snapshot.commit}`;
	for (const f of snapshot.files) {
		const blob = index.blobs.get(hexKey(f.blake3));
		if (!blob) {
			throw new StoreError("STORE_MISSING_BLOB", `${label}: blob ${f.blake3} of ${f.path} is not in the store`, {
				hint: "store every file (putFile / createBlobWriter) before committing the snapshot",
			});
		}
		if (blob.size !== f.size) throw new StoreError("STORE_SIZE_MISMATCH", `${label}: ${f.path} says ${f.size} bytes but blob ${f.blake3} has ${blob.size}`);
	}
	const repoKey: RepoKey = [snapshot.repo.type, snapshot.repo.name];
	const snapKey: SnapshotKey = [snapshot.repo.type, snapshot.repo.name, snapshot.commit];
	let generation = 0;
	await indexTransaction({
		store,
		label,
		body: () => {
			const byPath = new Map<string, SnapshotFile>();
			if (!params.replace) for (const f of index.snapshots.get(snapKey)?.files ?? []) byPath.set(f.path, f);
			for (const f of snapshot.files) byPath.set(f.path, { path: f.path, blake3: f.blake3, size: f.size, etag: f.etag });
			// Merging may pair a new file with an old folder of the same name: the newer wins.
			const files = [...byPath.values()].filter(
				(f) => !snapshot.files.some((n) => n.path.startsWith(`${f.path}/`) || f.path.startsWith(`${n.path}/`)) || snapshot.files.some((n) => n.path === f.path),
			);
			files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
			const repo = index.repos.get(repoKey) ?? { refs: {} };
			index.repos.put(repoKey, { refs: { ...repo.refs, ...refs } });
			index.snapshots.put(snapKey, { files, createdAt: Date.now() });
			generation = index.generation() + 1;
			index.meta.put("generation", generation);
		},
	});
	// Durable before any reader can see it in a catalog.
	await index.env.flushed;
	await publishCatalog({ store });
	return { generation };
}
