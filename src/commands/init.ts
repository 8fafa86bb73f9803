import { Command } from "commander";
import { openStore } from "../store/openStore.js";
import { resolveStoreDir } from "../store/resolveStoreDir.js";

/** `modelfs init`: creates the store (idempotent). */
export function initCommand(): Command {
	return new Command("init")
		.description("create the store (objects/, tmp/, index/, catalog/, modelfs.json); running it again is harmless")
		.option("--store <dir>", "store directory (default: $MODELFS_STORE, else $XDG_DATA_HOME/modelfs)")
		.action(async (opts: { store?: string }) => {
			const storeDir = resolveStoreDir({ store: opts.store });
			const store = await openStore({ storeDir, create: true });
			await store.close();
			process.stdout.write(`${storeDir}\n`);
		});
}
