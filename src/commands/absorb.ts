import { Command } from "commander";
import { resolveConfiguredStore } from "../config/resolveConfiguredStore.js";
import { InterruptedError } from "../errors.js";
import { refreshStoreViews } from "../node/refreshStoreViews.js";
import { absorbTarget } from "../overlay/absorbTarget.js";
import { createByteProgress } from "../progress/createByteProgress.js";
import { formatBytes } from "../progress/formatBytes.js";

interface AbsorbOptions {
	lower?: string;
	store?: string;
	config?: string;
	stateDir?: string;
	import: boolean;
	wait?: boolean;
	dryRun?: boolean;
	json?: boolean;
	quiet?: boolean;
}

/**
 * `modelfs absorb <target>`: import what a backend downloaded itself into
 * the store, and give back local disk held by copies of files the view
 * already serves (in an overlay's upper layer, or a plain HF cache).
 */
export function absorbCommand(): Command {
	return new Command("absorb")
		.description("import what a backend downloaded into the store, then drop local copies (overlay upper, or a plain HF cache with --lower) of files the view serves")
		.argument("<target>", "a backend cache folder with a modelfs overlay, or a plain Hugging Face cache folder")
		.option("--lower <dir>", "the view laid out like <target> (default: the overlay's lowerdir; required for a plain folder, whose duplicates become symlinks into it)")
		.option("--store <dir>", "the store (default: $MODELFS_STORE, else the config file's store, else ~/.local/share/modelfs)")
		.option("--config <file>", "config file to take the store from (default: $MODELFS_CONFIG, else /etc/modelfs/config.yaml)")
		.option("--state-dir <dir>", "modelfs's node-local state folder (default: $MODELFS_STATE_DIR, else /var/lib/modelfs)")
		.option("--no-import", "do not import the backend's own downloads; only drop copies the view already serves")
		.option("--wait", "wait for another writer of the store to finish instead of failing")
		.option("--dry-run", "only print what would be imported and freed")
		.option("--json", "print the result as JSON")
		.option("--quiet", "no progress bar")
		.addHelpText(
			"after",
			"\nOn an overlay, complete snapshots the backend downloaded itself into the upper layer (a model the store\n" +
				"lacked) are imported first: every blob is checked against its name (sha256 or git sha1), and a snapshot\n" +
				"with an unfinished download (*.incomplete), a broken link, a shard its index names but lacks, or a file that\n" +
				"does not verify is left alone whole. On a node whose store is read-only, absorb says so and changes nothing\n" +
				"(--no-import still drops copies the view serves). A local copy goes only once the view shows the same bytes\n" +
				"at the same path: after an import, absorb refreshes this node's views of the store in place and then frees\n" +
				"the imported snapshot's local copies. The overlay is unmounted and mounted again around the change, so it must\n" +
				"not be busy.",
		)
		.action(async (target: string, opts: AbsorbOptions) => {
			const storeDir = await resolveConfiguredStore({ store: opts.store, config: opts.config });
			const abort = new AbortController();
			const onSignal = () => abort.abort(new InterruptedError("absorb interrupted"));
			process.once("SIGINT", onSignal);
			process.once("SIGTERM", onSignal);
			const bar = createByteProgress({ label: "absorb (import)", total: 0, quiet: opts.quiet });
			let r: Awaited<ReturnType<typeof absorbTarget>>;
			const absorb = (importDownloads: boolean) =>
				absorbTarget({
					target,
					storeDir,
					lower: opts.lower,
					dryRun: opts.dryRun,
					stateDir: opts.stateDir,
					importDownloads,
					wait: opts.wait,
					signal: abort.signal,
					onProgress: (n) => bar.increment(n),
				});
			try {
				r = await absorb(opts.import);
				if (r.awaitingRefresh.length > 0 && !r.dryRun) {
					// The view shows the imported snapshots once refreshed in place;
					// then a second pass frees their local copies.
					const log = (line: string) => process.stderr.write(`modelfs: ${line}\n`);
					await refreshStoreViews({ storeDir, log });
					const second = await absorb(false);
					r = {
						...second,
						imported: r.imported,
						notImported: r.notImported,
						absorbed: [...r.absorbed, ...second.absorbed],
						freedBytes: r.freedBytes + second.freedBytes,
						keptBack: [...r.keptBack, ...second.keptBack],
						awaitingRefresh: second.awaitingRefresh.length === 0 ? [] : r.awaitingRefresh,
					};
				}
			} catch (err) {
				if (abort.signal.aborted) throw new InterruptedError("absorb interrupted: no snapshot was half-committed; run it again");
				throw err;
			} finally {
				bar.stop();
				process.off("SIGINT", onSignal);
				process.off("SIGTERM", onSignal);
			}
			for (const n of r.notImported) process.stderr.write(`modelfs: not imported ${n.path}: ${n.reason}\n`);
			if (r.readOnlyStore) {
				process.stderr.write(
					`modelfs: the store ${storeDir} is read-only on this node: the backend's downloads were not imported and nothing was changed; ` +
						`run absorb on the writer node, or absorb --no-import here to only drop copies the view serves\n`,
				);
			}
			if (r.awaitingRefresh.length > 0) {
				process.stderr.write(
					`modelfs: the view does not show ${r.awaitingRefresh.join(", ")} yet (it could not be refreshed, or is not a view of ${storeDir}): their local copies stay; run modelfs refresh, then absorb again\n`,
				);
			}
			if (opts.json) {
				process.stdout.write(`${JSON.stringify(r)}\n`);
				return;
			}
			for (const i of r.imported) {
				process.stdout.write(
					`${r.dryRun ? "would import" : "imported"} ${i.type === "dataset" ? "datasets/" : ""}${i.name}@${i.commit}: ${i.files} files, ${formatBytes(i.bytes)} (from ${i.path})\n`,
				);
			}
			for (const a of r.absorbed) process.stdout.write(`${r.dryRun ? "would free" : r.mode === "plain" ? "linked" : "absorbed"} ${a.path} (${a.size} bytes)\n`);
			for (const p of r.keptBack) process.stderr.write(`modelfs: kept ${p}: the view does not show it through ${r.target} (an opaque folder in upper)\n`);
			const n = r.absorbed.length;
			process.stdout.write(`${r.dryRun ? "would free" : "freed"} ${r.freedBytes} bytes (${formatBytes(r.freedBytes)}) in ${n} ${n === 1 ? "entry" : "entries"} from ${r.dir}\n`);
		});
}
