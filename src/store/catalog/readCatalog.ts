import { join } from "node:path";
import { IndexError } from "../../errors.js";
import type { Catalog } from "../StoreTypes.js";
import { STORE_PATHS } from "../storeFormat.js";
import { listCatalogGenerations } from "./listCatalogGenerations.js";
import { readCatalogFile } from "./readCatalogFile.js";

/** A catalog generation readCatalog passed over because it does not parse. */
export interface CatalogSkip {
	/** Path of the generation file. */
	path: string;
	generation: number;
	/** Why it was passed over (the INDEX_CATALOG_CORRUPT message). */
	reason: string;
}

export interface ReadCatalogParams {
	/** The store directory. */
	storeDir: string;
	/**
	 * Told of each newer generation passed over because it does not parse.
	 * @default one `modelfs: warning:` line on stderr per file and process
	 */
	onSkip?: (skip: CatalogSkip) => void;
}

/** Files already warned about: one command may read the catalog several times. */
const warned = new Set<string>();

function warnOnce(skip: CatalogSkip): void {
	if (warned.has(skip.path)) return;
	warned.add(skip.path);
	process.stderr.write(`modelfs: warning: catalog ${skip.path} does not parse, using an older generation; the next writer (import, ingest, rebuild-index) republishes it\n`);
}

/**
 * The newest published catalog that parses (`<store>/catalog/<generation>`),
 * or null when the store has none yet. A damaged newer generation (bad JSON,
 * cut short) is reported through `onSkip` and the next older one is used,
 * so readers keep working until a writer republishes; when no generation
 * parses, IndexError INDEX_CATALOG_CORRUPT names the newest. Needs no LMDB
 * and no write access, so it works on reader nodes and read-only mounts;
 * views are built only from this.
 */
export async function readCatalog(params: ReadCatalogParams): Promise<Catalog | null> {
	if (typeof params?.storeDir !== "string") throw new TypeError("readCatalog: `storeDir` must be a string");
	const onSkip = params.onSkip ?? warnOnce;
	let firstError: IndexError | null = null;
	const skipped: CatalogSkip[] = [];
	for (const generation of await listCatalogGenerations(params.storeDir)) {
		const path = join(params.storeDir, STORE_PATHS.catalog, String(generation));
		let catalog: Catalog | null;
		try {
			// null: pruned by the writer between readdir and read; take the next one.
			catalog = await readCatalogFile({ path });
		} catch (err) {
			if (!(err instanceof IndexError) || err.code !== "INDEX_CATALOG_CORRUPT") throw err;
			firstError ??= err;
			skipped.push({ path, generation, reason: err.message });
			continue;
		}
		if (catalog === null) continue;
		for (const s of skipped) onSkip(s);
		return catalog;
	}
	if (firstError) throw firstError;
	return null;
}
