import { constants, existsSync } from "node:fs";
import { access } from "node:fs/promises";
import { join } from "node:path";
import { isNetworkFilesystem } from "../objects/isNetworkFilesystem.js";
import { openStore } from "../openStore.js";
import { STORE_PATHS } from "../storeFormat.js";
import { listCatalogGenerations } from "./listCatalogGenerations.js";

export interface RepublishIfBehindParams {
	storeDir: string;
}

/**
 * A writer killed between its index commit and its catalog write leaves a
 * finished snapshot that views cannot show until the next writer runs. A
 * mount or refresh on the writer's host calls this first: when the store is
 * writable here and on a local filesystem, it compares the index's
 * generation with the newest catalog's through a read-only open (what `ls`
 * does), and only when the catalog is behind and no writer is running opens
 * it for writing, which republishes (openStore does that for every writer).
 * So a mount takes no writer lock and cleans nothing in the usual case.
 * Anywhere else it does nothing: reader nodes never open LMDB, and a running
 * writer publishes on its own.
 * Returns whether the store could be checked.
 */
export async function republishIfBehind(params: RepublishIfBehindParams): Promise<boolean> {
	const dir = params.storeDir;
	if (!existsSync(join(dir, STORE_PATHS.index, "data.mdb"))) return false;
	try {
		await access(dir, constants.W_OK);
	} catch {
		return false;
	}
	if (await isNetworkFilesystem(dir)) return false;
	// Damaged or unreadable: the command that follows says what is wrong.
	const reader = await openStore({ storeDir: dir }).catch(() => null);
	if (!reader?.index) {
		await reader?.close();
		return false;
	}
	const indexed = reader.index.generation();
	await reader.close();
	if (indexed <= ((await listCatalogGenerations(dir))[0] ?? 0)) return true;
	let store: Awaited<ReturnType<typeof openStore>>;
	try {
		store = await openStore({ storeDir: dir, write: true, wait: false });
	} catch {
		// Busy (a writer is running: it publishes), read-only, or damaged: the
		// command that follows reads the catalog as it is and says what is wrong.
		return false;
	}
	await store.close();
	return true;
}
