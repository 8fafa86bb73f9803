import { Command } from "commander";
import { openStore } from "../store/openStore.js";
import { resolveStoreDir } from "../store/resolveStoreDir.js";

/** `modelfs init`: creates the store (idempotent). */
export function initCommand(): Command {
	return new Command("init")
		.description("create the store (objects/, tmp/, index/, catalog/, modelfs.json); running it again is harmless")
		.option("--store <dir>", "store directory (default: $MODELFS_STORE, else $XDG_DATA_HOME/modelfs)")
		.option("--json", "print {store, created} as JSON")
		.action(async (opts: { store?: string; json?: boolean }) => {
			const storeDir = resolveStoreDir({ store: opts.store });
			let created = false;
			const store = await openStore({ storeDir, create: true, onCreated: () => (created = true) });
			await store.close();
			if (opts.json) process.stdout.write(`${JSON.stringify({ store: storeDir, created })}\n`);
			else process.stdout.write(`${storeDir}${created ? "" : " (it already existed)"}\n`);
		});
}
