import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { IndexError } from "../../errors.js";
import type { Catalog } from "../StoreTypes.js";
import { STORE_PATHS } from "../storeFormat.js";
import { listCatalogGenerations } from "./listCatalogGenerations.js";

export interface ReadCatalogParams {
	/** The store directory. */
	storeDir: string;
}

/**
 * The newest published catalog (`<store>/catalog/<generation>`), or null when
 * the store has none yet. Needs no LMDB and no write access, so it works on
 * reader nodes and read-only mounts; views are built only from this.
 */
export async function readCatalog(params: ReadCatalogParams): Promise<Catalog | null> {
	if (typeof params?.storeDir !== "string") throw new TypeError("readCatalog: `storeDir` must be a string");
	for (const generation of await listCatalogGenerations(params.storeDir)) {
		const path = join(params.storeDir, STORE_PATHS.catalog, String(generation));
		let text: string;
		try {
			text = await readFile(path, "utf8");
		} catch (err) {
			// Pruned by the writer between readdir and read: take the next one.
			if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
			throw err;
		}
		let catalog: Catalog;
		try {
			catalog = JSON.parse(text) as Catalog;
		} catch (err) {
			throw new IndexError("INDEX_CATALOG_CORRUPT", `catalog ${path} is not valid JSON`, {
				cause: err,
				hint: "run `modelfs verify` on the writer node; a writer republishes the catalog when it opens the store",
			});
		}
		if (catalog.format !== 1) {
			throw new IndexError("INDEX_CATALOG_FORMAT", `catalog ${path} has format ${String(catalog.format)}, this modelfs reads format 1`, {
				hint: "upgrade modelfs on this node",
			});
		}
		return catalog;
	}
	return null;
}
