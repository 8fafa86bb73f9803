import { Command } from "commander";
import { InterruptedError, StoreError } from "../errors.js";
import { createByteProgress } from "../progress/createByteProgress.js";
import { formatBytes } from "../progress/formatBytes.js";
import { verifyStore } from "../store/maintenance/verifyStore.js";
import { openStore } from "../store/openStore.js";
import { resolveStoreDir } from "../store/resolveStoreDir.js";
import type { Store } from "../store/Store.js";

/** `modelfs verify`: re-hash blobs, report (and with --repair quarantine) corrupt ones. */
export function verifyCommand(): Command {
	return new Command("verify")
		.description("check every blob (size, then BLAKE3 of blobs changed since their last check); exit code 4 if any is missing or corrupt")
		.option("--full", "hash every blob, changed or not")
		.option("--repair", "move corrupt blobs to <store>/quarantine/ and drop them from the index, so the next import/ingest stores them again")
		.option("--wait", "with --repair: wait for another writer to finish instead of failing")
		.option("--json", "print JSON")
		.option("--quiet", "no progress bar")
		.option("--store <dir>", "store directory (default: $MODELFS_STORE, else $XDG_DATA_HOME/modelfs)")
		.action(async (opts: { full?: boolean; repair?: boolean; wait?: boolean; json?: boolean; quiet?: boolean; store?: string }) => {
			const storeDir = resolveStoreDir({ store: opts.store });
			let store: Store;
			if (opts.repair) store = await openStore({ storeDir, write: true, wait: opts.wait });
			else {
				// Record check times when we can be the writer; otherwise verify read-only.
				store = await openStore({ storeDir, write: true }).catch(async (err: unknown) => {
					if (err instanceof StoreError && (err.code === "STORE_LOCKED" || err.code === "STORE_READ_ONLY")) return openStore({ storeDir });
					throw err;
				});
			}
			const abort = new AbortController();
			const onSigint = () => abort.abort(new InterruptedError("verify interrupted"));
			process.once("SIGINT", onSigint);
			const bar = createByteProgress({ label: "verify", total: 0, quiet: opts.quiet });
			try {
				const r = await verifyStore({
					store,
					full: opts.full,
					repair: opts.repair,
					signal: abort.signal,
					onTotal: (b) => bar.setTotal(b),
					onProgress: (b) => bar.increment(b),
				}).catch((err: unknown) => {
					if (abort.signal.aborted) throw new InterruptedError("verify interrupted");
					throw err;
				});
				bar.stop();
				if (opts.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
				else {
					for (const p of r.problems) {
						process.stdout.write(`${p.reason === "missing" ? "MISSING" : "CORRUPT"} ${p.blake3}: ${p.detail}${p.quarantinedTo ? ` -> ${p.quarantinedTo}` : ""}\n`);
						for (const u of p.usedBy) process.stdout.write(`  used by ${u}\n`);
					}
					process.stdout.write(`${r.blobs} blobs: ${r.hashed} hashed (${formatBytes(r.hashedBytes)}), ${r.skipped} unchanged since their last check, ${r.problems.length} bad\n`);
				}
				if (r.problems.length > 0) {
					throw new StoreError("STORE_CORRUPT_BLOB", `${r.problems.length} blob(s) in ${storeDir} are missing or corrupt${r.repaired ? " and were quarantined" : ""}`, {
						hint: r.repaired ? "import or ingest the repos listed above again to restore them" : "run `modelfs verify --repair`, then import or ingest the listed repos again",
					});
				}
			} finally {
				bar.stop();
				process.off("SIGINT", onSigint);
				await store.close();
			}
		});
}
