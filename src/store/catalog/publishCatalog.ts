import { open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { IndexError } from "../../errors.js";
import { fsyncDir } from "../objects/fsyncDir.js";
import { tmpName } from "../objects/tmpName.js";
import type { Store } from "../Store.js";
import { CATALOGS_KEPT, STORE_PATHS } from "../storeFormat.js";
import { buildCatalog } from "./buildCatalog.js";
import { listCatalogGenerations } from "./listCatalogGenerations.js";

export interface PublishCatalogParams {
	/** A store open for writing. */
	store: Store;
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
