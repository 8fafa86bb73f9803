import { Command } from "commander";
import { defaultConfigPath } from "../config/defaultConfigPath.js";
import { readConfig } from "../config/readConfig.js";
import { downFromConfig } from "../node/downFromConfig.js";
import { createByteProgress } from "../progress/createByteProgress.js";
import { formatBytes } from "../progress/formatBytes.js";

/** `modelfs down`: take the configured overlays down, then the views nothing stands on. */
export function downCommand(): Command {
	return new Command("down")
		.description("unmount the config's overlays, then the views no overlay uses any more (idempotent)")
		.option("--config <file>", "config file (default: $MODELFS_CONFIG, else /etc/modelfs/config.yaml)")
		.option("--only <name...>", "only these backends or views")
		.option("--restore", "also put each backend's upper-layer files back into its folder as plain files")
		.option("--materialize", "roll back: copy every file each backend folder shows from its view into it as a real file (reflink where possible), then --restore")
		.option("--json", "print the result as JSON")
		.option("--quiet", "no progress bar")
		.action(async (opts: { config?: string; only?: string[]; restore?: boolean; materialize?: boolean; json?: boolean; quiet?: boolean }) => {
			const config = await readConfig({ path: defaultConfigPath({ config: opts.config }) });
			const bar = createByteProgress({ label: "materialize", total: 0, quiet: opts.quiet || !opts.materialize });
			let r: Awaited<ReturnType<typeof downFromConfig>>;
			try {
				r = await downFromConfig({
					config,
					only: opts.only,
					restore: opts.restore,
					materialize: opts.materialize,
					log: (line) => process.stderr.write(`modelfs: ${line}\n`),
					onTotal: (bytes) => bar.setTotal(bytes),
					onProgress: (bytes) => bar.increment(bytes),
				});
			} finally {
				bar.stop();
			}
			if (opts.json) {
				process.stdout.write(`${JSON.stringify(r)}\n`);
				return;
			}
			for (const b of r.backends) {
				const restored = b.restored !== null ? `, ${b.restored.files} files restored` : "";
				const m = b.materialized;
				if (m)
					process.stdout.write(
						`backend ${b.name}: materialized ${m.files} files (${formatBytes(m.bytes)}${m.reflinkedFiles > 0 ? `, ${m.reflinkedFiles} reflinked` : ""}) from the view\n`,
					);
				if (b.viewProvided && b.viewProvided.files > 0) {
					process.stderr.write(
						`modelfs: warning: ${b.target} no longer shows the ${b.viewProvided.files} files (${formatBytes(b.viewProvided.bytes)}) the view provided; a backend started on it without modelfs will not find them (down --materialize keeps real copies)\n`,
					);
				}
				const others = b.otherNamespaces.flatMap((n) => n.pids);
				const still = others.length > 0 ? ` here; pids ${others.join(", ")} in other mount namespaces (running containers) keep their own copy of it` : "";
				process.stdout.write(`backend ${b.name}: ${b.wasMounted ? "down" : "was not up"}${still}${restored}\n`);
			}
			for (const v of r.views) {
				const s = r.stillServing.find((x) => x.name === v);
				const pids = s?.otherNamespaces.flatMap((n) => n.pids) ?? [];
				process.stdout.write(
					s
						? `view ${v}: unmounted here; processes in other mount namespaces (pids ${pids.join(", ")}) still read through it, and its daemon keeps serving them until they let go\n`
						: `view ${v}: unmounted\n`,
				);
			}
			for (const v of r.keptViews) process.stdout.write(`view ${v}: kept (an overlay still uses it)\n`);
		});
}
