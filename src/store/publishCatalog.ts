import { open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { IndexError } from "../errors.js";
import { fsyncDir } from "./fsyncDir.js";
import { listCatalogGenerations } from "./readCatalog.js";
import type { Store } from "./Store.js";
import { CATALOGS_KEPT, STORE_PATHS } from "./storeFormat.js";
import type { Catalog, CatalogRepo } from "./StoreTypes.js";
import { tmpName } from "./tmpName.js";

export interface PublishCatalogParams {
	/** A store open for writing. */
	store: Store;
}

/** Builds the catalog of the index's current generation (repos sorted by type, name). */
export function buildCatalog(store: Store): Catalog {
	const index = store.index;
	if (!index) throw new IndexError("INDEX_UNAVAILABLE", `the index of ${store.dir} is not open`);
	const repos = new Map<string, CatalogRepo>();
	const keyOf = (type: string, name: string) => `${type}\n${name}`;
	for (const { key, value } of index.repos.getRange({ snapshot: false })) {
		repos.set(keyOf(key[0], key[1]), { type: key[0], name: key[1], refs: { ...value.refs }, snapshots: [] });
	}
	for (const { key, value } of index.snapshots.getRange({ snapshot: false })) {
		const k = keyOf(key[0], key[1]);
		let repo = repos.get(k);
		if (!repo) {
			repo = { type: key[0], name: key[1], refs: {}, snapshots: [] };
			repos.set(k, repo);
		}
		repo.snapshots.push({ commit: key[2], files: value.files });
	}
	const list = [...repos.values()].filter((r) => r.snapshots.length > 0);
	list.sort((a, b) => (a.type === b.type ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.type < b.type ? -1 : 1));
	return { format: 1, generation: index.generation(), createdAt: new Date().toISOString(), repos: list };
}

/**
 * Writes the current generation as `<store>/catalog/<generation>` (tmp file,
 * fsync, rename, fsync the directory) and prunes all but the newest few.
 * Returns the generation published.
 */
export async function publishCatalog(params: PublishCatalogParams): Promise<number> {
	const { store } = params;
	if (store.readOnly) throw new IndexError("INDEX_READ_ONLY", `cannot publish a catalog: ${store.dir} is open read-only`);
	const catalog = buildCatalog(store);
	const dir = join(store.dir, STORE_PATHS.catalog);
	const tmp = tmpName(store.dir, "catalog");
	const fh = await open(tmp, "wx", 0o444);
	try {
		await fh.writeFile(JSON.stringify(catalog));
		await fh.sync();
	} catch (err) {
		await fh.close();
		await unlink(tmp).catch(() => undefined);
		throw err;
	}
	await fh.close();
	await rename(tmp, join(dir, String(catalog.generation)));
	await fsyncDir(dir);
	const generations = await listCatalogGenerations(store.dir);
	for (const old of generations.slice(CATALOGS_KEPT)) await unlink(join(dir, String(old))).catch(() => undefined);
	return catalog.generation;
}
