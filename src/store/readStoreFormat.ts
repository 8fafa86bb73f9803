import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { StoreError } from "../errors.js";
import { STORE_FORMAT, STORE_PATHS, type StoreMeta } from "./storeFormat.js";

export interface ReadStoreFormatParams {
	/** The store directory. */
	storeDir: string;
}

/**
 * Reads `<store>/modelfs.json` and refuses a store this modelfs cannot read
 * (missing, not JSON, a newer format): every command and the mount check it
 * first, so none serves or writes a store of another format.
 */
export async function readStoreFormat(params: ReadStoreFormatParams): Promise<StoreMeta> {
	const dir = params.storeDir;
	const path = join(dir, STORE_PATHS.meta);
	let text: string;
	try {
		text = await readFile(path, "utf8");
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") {
			throw new StoreError("STORE_NOT_FOUND", `no modelfs store at ${dir} (${STORE_PATHS.meta} is missing)`, {
				hint: `create one with \`modelfs init --store ${dir}\`, or point --store / MODELFS_STORE at an existing store`,
			});
		}
		throw err;
	}
	let meta: StoreMeta;
	try {
		meta = JSON.parse(text) as StoreMeta;
	} catch (err) {
		throw new StoreError("STORE_META_CORRUPT", `${path} is not valid JSON`, { cause: err, hint: `restore it: {"format": ${STORE_FORMAT}}` });
	}
	if (typeof meta?.format !== "number") throw new StoreError("STORE_META_CORRUPT", `${path} has no format version`, { hint: `restore it: {"format": ${STORE_FORMAT}}` });
	if (meta.format > STORE_FORMAT) {
		throw new StoreError("STORE_FORMAT_NEWER", `store ${dir} has format ${meta.format}, newer than this modelfs understands (format ${STORE_FORMAT})`, {
			hint: "upgrade modelfs to open this store",
		});
	}
	return meta;
}
