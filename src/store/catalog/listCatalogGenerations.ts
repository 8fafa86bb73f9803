import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { STORE_PATHS } from "../storeFormat.js";

/** Generation numbers of the catalogs in `<store>/catalog/`, newest first. */
export async function listCatalogGenerations(storeDir: string): Promise<number[]> {
	let names: string[];
	try {
		names = await readdir(join(storeDir, STORE_PATHS.catalog));
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
		throw err;
	}
	return names
		.filter((n) => /^\d+$/.test(n))
		.map(Number)
		.sort((a, b) => b - a);
}
