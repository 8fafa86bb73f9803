import { readCatalog } from "../../src/store/catalog/readCatalog.js";
import { blobPath } from "../../src/store/objects/blobPath.js";
import { buildViewTree } from "../../src/view/buildViewTree.js";
import { repoFolderName } from "../../src/view/repoFolderName.js";
import type { ViewDir } from "../../src/view/ViewTree.js";

export interface LoadFixtureParams {
	storeDir: string;
	/** `org/name` the folder was imported as. */
	repo: string;
}

/** One imported repo as every row of the bench sees it. */
export interface Fixture {
	/** The hf-layout tree a `modelfs mount --layout hf` of this store shows. */
	tree: ViewDir;
	/** `models--org--name/snapshots/<commit>`: where the files are in the view. */
	snapshotDir: string;
	/** Relative path in the repo -> absolute store blob path. */
	blobs: Map<string, string>;
}

/**
 * Reads what `modelfs import` published (the catalog) and builds the same
 * view tree the daemon serves, so every row reads the same files by the
 * same paths.
 */
export async function loadFixture(params: LoadFixtureParams): Promise<Fixture> {
	const catalog = await readCatalog({ storeDir: params.storeDir });
	const repo = catalog?.repos.find((r) => r.name === params.repo);
	if (!catalog || !repo || repo.snapshots.length === 0) {
		throw new Error(`the store ${params.storeDir} has no published snapshot of ${params.repo} after \`modelfs import\``);
	}
	const commit = repo.refs.main ?? repo.snapshots[0].commit;
	const snapshot = repo.snapshots.find((s) => s.commit === commit) ?? repo.snapshots[0];
	const blobs = new Map(snapshot.files.map((f) => [f.path, blobPath(params.storeDir, f.blake3)] as const));
	return {
		tree: buildViewTree({ catalog, layout: "hf" }),
		snapshotDir: `${repoFolderName({ type: repo.type, name: repo.name })}/snapshots/${snapshot.commit}`,
		blobs,
	};
}
