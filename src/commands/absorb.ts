import { Command } from "commander";
import { resolveConfiguredStore } from "../config/resolveConfiguredStore.js";
import { absorbTarget } from "../overlay/absorbTarget.js";
import { formatBytes } from "../progress/formatBytes.js";

/**
 * `modelfs absorb <target>`: give back local disk held by copies of files the
 * view already serves (in an overlay's upper layer, or a plain HF cache).
 */
export function absorbCommand(): Command {
	return new Command("absorb")
		.description("free local disk: drop local copies (overlay upper, or a plain HF cache with --lower) of files the view already serves")
		.argument("<target>", "a backend cache folder with a modelfs overlay, or a plain Hugging Face cache folder")
		.option("--lower <dir>", "the view laid out like <target> (default: the overlay's lowerdir; required for a plain folder, whose duplicates become symlinks into it)")
		.option("--store <dir>", "the store (default: $MODELFS_STORE, else the config file's store, else ~/.local/share/modelfs)")
		.option("--config <file>", "config file to take the store from (default: $MODELFS_CONFIG, else /etc/modelfs/config.yaml)")
		.option("--state-dir <dir>", "modelfs's node-local state folder (default: $MODELFS_STATE_DIR, else /var/lib/modelfs)")
		.option("--dry-run", "only print what would be freed")
		.option("--json", "print the result as JSON")
		.action(async (target: string, opts: { lower?: string; store?: string; config?: string; stateDir?: string; dryRun?: boolean; json?: boolean }) => {
			const storeDir = await resolveConfiguredStore({ store: opts.store, config: opts.config });
			const r = await absorbTarget({ target, storeDir, lower: opts.lower, dryRun: opts.dryRun, stateDir: opts.stateDir });
			if (opts.json) {
				process.stdout.write(`${JSON.stringify(r)}\n`);
				return;
			}
			for (const a of r.absorbed) process.stdout.write(`${r.dryRun ? "would free" : r.mode === "plain" ? "linked" : "absorbed"} ${a.path} (${a.size} bytes)\n`);
			for (const p of r.keptBack) process.stderr.write(`modelfs: kept ${p}: the view does not show it through ${r.target} (an opaque folder in upper)\n`);
			const n = r.absorbed.length;
			process.stdout.write(`${r.dryRun ? "would free" : "freed"} ${r.freedBytes} bytes (${formatBytes(r.freedBytes)}) in ${n} ${n === 1 ? "entry" : "entries"} from ${r.dir}\n`);
		});
}
