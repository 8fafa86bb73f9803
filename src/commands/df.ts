import { Command } from "commander";
import { formatBytes } from "../progress/formatBytes.js";
import { storeUsage } from "../store/maintenance/storeUsage.js";
import { openStore } from "../store/openStore.js";
import { resolveStoreDir } from "../store/resolveStoreDir.js";

/** `modelfs df`: logical vs stored bytes, dedup ratio, free space. */
export function dfCommand(): Command {
	return new Command("df")
		.description("logical bytes (what separate caches would hold) vs stored bytes, dedup ratio, free space")
		.option("--json", "print JSON")
		.option("--store <dir>", "store directory (default: $MODELFS_STORE, else $XDG_DATA_HOME/modelfs)")
		.action(async (opts: { json?: boolean; store?: string }) => {
			const storeDir = resolveStoreDir({ store: opts.store });
			const store = await openStore({ storeDir });
			try {
				const u = await storeUsage({ storeDir });
				if (opts.json) {
					process.stdout.write(`${JSON.stringify(u, null, 2)}\n`);
					return;
				}
				const lines = [
					`store       ${storeDir}`,
					`repos       ${u.repos} (${u.snapshots} snapshots, ${u.files} files)`,
					`logical     ${formatBytes(u.logicalBytes)} (${u.logicalBytes} bytes)`,
					`stored      ${formatBytes(u.storedBytes)} (${u.storedBytes} bytes in ${u.objects} blobs; ${formatBytes(u.uniqueBytes)} referenced)`,
					`dedup       ${u.dedupRatio.toFixed(2)}x`,
					`free        ${formatBytes(u.freeBytes)} of ${formatBytes(u.totalBytes)}`,
				];
				process.stdout.write(`${lines.join("\n")}\n`);
			} finally {
				await store.close();
			}
		});
}
