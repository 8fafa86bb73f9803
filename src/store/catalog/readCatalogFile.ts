import { readFile } from "node:fs/promises";
import { IndexError } from "../../errors.js";
import type { Catalog } from "../StoreTypes.js";

export interface ReadCatalogFileParams {
	/** Path of one generation, `<store>/catalog/<generation>`. */
	path: string;
}

/**
 * One catalog generation file, parsed and checked for the shape readers
 * rely on, or null when the file is gone (the writer prunes old ones).
 * Throws IndexError INDEX_CATALOG_CORRUPT when it is not a catalog (bad
 * JSON, cut short, zeroed), so callers can skip it and take an older one,
 * and INDEX_CATALOG_FORMAT when it is a newer format (skipping that would
 * serve stale data: the node needs a newer modelfs).
 */
export async function readCatalogFile(params: ReadCatalogFileParams): Promise<Catalog | null> {
	if (typeof params?.path !== "string" || params.path === "") throw new TypeError("readCatalogFile: `path` must be a non-empty string");
	const { path } = params;
	let text: string;
	try {
		text = await readFile(path, "utf8");
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
		throw err;
	}
	let catalog: Catalog;
	try {
		catalog = JSON.parse(text) as Catalog;
	} catch (err) {
		throw new IndexError("INDEX_CATALOG_CORRUPT", `catalog ${path} is not valid JSON`, {
			cause: err,
			hint: "a writer (import, ingest, rebuild-index) republishes the catalog when it opens the store",
		});
	}
	if (typeof catalog?.format === "number" && catalog.format > 1) {
		throw new IndexError("INDEX_CATALOG_FORMAT", `catalog ${path} has format ${String(catalog.format)}, this modelfs reads format 1`, {
			hint: "upgrade modelfs on this node",
		});
	}
	if (catalog?.format !== 1 || typeof catalog.generation !== "number" || !Array.isArray(catalog.repos)) {
		throw new IndexError("INDEX_CATALOG_CORRUPT", `catalog ${path} is JSON but not a catalog (no format 1, generation and repos)`, {
			hint: "a writer (import, ingest, rebuild-index) republishes the catalog when it opens the store",
		});
	}
	return catalog;
}
