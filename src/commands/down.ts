import { Command } from "commander";
import { defaultConfigPath } from "../config/defaultConfigPath.js";
import { readConfig } from "../config/readConfig.js";
import { downFromConfig } from "../node/downFromConfig.js";

/** `modelfs down`: take the configured overlays down, then the views nothing stands on. */
export function downCommand(): Command {
	return new Command("down")
		.description("unmount the config's overlays, then the views no overlay uses any more (idempotent)")
		.option("--config <file>", "config file (default: $MODELFS_CONFIG, else /etc/modelfs/config.yaml)")
		.option("--only <name...>", "only these backends or views")
		.option("--restore", "also put each backend's upper-layer files back into its folder as plain files")
		.option("--json", "print the result as JSON")
		.action(async (opts: { config?: string; only?: string[]; restore?: boolean; json?: boolean }) => {
			const config = await readConfig({ path: defaultConfigPath({ config: opts.config }) });
			const r = await downFromConfig({ config, only: opts.only, restore: opts.restore, log: (line) => process.stderr.write(`modelfs: ${line}\n`) });
			if (opts.json) {
				process.stdout.write(`${JSON.stringify(r)}\n`);
				return;
			}
			for (const b of r.backends) {
				const restored = b.restored !== null ? `, ${b.restored.files} files restored` : "";
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
