import { Command } from "commander";
import { UsageError } from "../errors.js";
import { formatBytes } from "../progress/formatBytes.js";
import { collectGarbage } from "../store/maintenance/collectGarbage.js";
import { openStore } from "../store/openStore.js";
import { resolveStoreDir } from "../store/resolveStoreDir.js";

/** "90s", "15m", "1h", "2d", or plain milliseconds. */
function parseDuration(text: string): number {
	const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
	if (!m) throw new UsageError("USAGE_DURATION", `--grace must be a duration like 30m, 1h or 2d, got ${JSON.stringify(text)}`);
	const n = Number(m[1]);
	const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? "ms") as "ms"];
	return n * unit;
}

/** `modelfs gc`: mark and sweep unreferenced blobs older than the grace period. */
export function gcCommand(): Command {
	return new Command("gc")
		.description("remove blobs no snapshot uses (mark and sweep); blobs younger than --grace are never touched")
		.option("--grace <duration>", "keep unreferenced blobs younger than this", "1h")
		.option("--dry-run", "only report what would be removed")
		.option("--wait", "wait for another writer to finish instead of failing")
		.option("--json", "print JSON")
		.option("--store <dir>", "store directory (default: $MODELFS_STORE, else $XDG_DATA_HOME/modelfs)")
		.action(async (opts: { grace: string; dryRun?: boolean; wait?: boolean; json?: boolean; store?: string }) => {
			const graceMs = parseDuration(opts.grace);
			const storeDir = resolveStoreDir({ store: opts.store });
			const store = await openStore({ storeDir, write: !opts.dryRun, wait: opts.wait });
			try {
				const r = await collectGarbage({
					store,
					graceMs,
					dryRun: opts.dryRun,
					onSkip: (s) => process.stderr.write(`modelfs: warning: catalog ${s.path} does not parse; it holds no blob alive\n`),
				});
				if (opts.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
				else
					process.stdout.write(
						`${r.dryRun ? "would remove" : "removed"} ${r.removed} blobs (${formatBytes(r.removedBytes)}); kept ${r.live} in use and ${r.young} younger than ${opts.grace} (${formatBytes(r.youngBytes)})\n`,
					);
			} finally {
				await store.close();
			}
		});
}
