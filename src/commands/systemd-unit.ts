import { existsSync, realpathSync } from "node:fs";
import { dirname } from "node:path";
import { Command } from "commander";
import { defaultConfigPath } from "../config/defaultConfigPath.js";
import { readConfig } from "../config/readConfig.js";
import { renderSystemdUnit } from "../node/renderSystemdUnit.js";

/** `modelfs systemd-unit`: print a unit running `modelfs up` at boot and `modelfs down` at stop. */
export function systemdUnitCommand(): Command {
	return new Command("systemd-unit")
		.description("print a systemd unit that runs `modelfs up` after the shared volume is mounted; stop and restart leave views serving, their fds parked in the unit's fd store")
		.option("--config <file>", "the config file the unit uses (default: $MODELFS_CONFIG, else /etc/modelfs/config.yaml)")
		.option("--exec <command>", "how systemd runs modelfs (default: this node and CLI, by absolute path)")
		.option("--after <unit...>", "also start after these units (e.g. nvmf-autoconnect.service)")
		.option("--before <unit...>", "start before these units (e.g. docker.service, so backends find their folders ready)")
		.option("--down-on-stop", "also run `modelfs down` when the unit stops (refused while a backend holds a view)")
		.action(async (opts: { config?: string; exec?: string; after?: string[]; before?: string[]; downOnStop?: boolean }) => {
			const configPath = defaultConfigPath({ config: opts.config });
			// With a readable config, systemd learns which mounts to wait for.
			const requiresMountsFor: string[] = [];
			if (existsSync(configPath)) {
				const config = await readConfig({ path: configPath });
				requiresMountsFor.push(config.store, config.stateDir, ...config.views.map((v) => dirname(v.mountpoint)), ...config.backends.map((b) => dirname(b.target)));
			} else {
				process.stderr.write(
					`modelfs: ${configPath} does not exist yet; the unit waits only for remote filesystems (write the config, then run this again for RequiresMountsFor= lines)\n`,
				);
			}
			process.stdout.write(
				renderSystemdUnit({
					exec: opts.exec ?? defaultExec(),
					configPath,
					requiresMountsFor: [...new Set(requiresMountsFor)],
					after: opts.after,
					before: opts.before,
					downOnStop: opts.downOnStop === true,
				}),
			);
		});
}

/** The node binary and this CLI's compiled entry point, both absolute. */
function defaultExec(): string {
	const script = process.argv[1] ? realpathSync(process.argv[1]) : "";
	if (script.endsWith(".js")) return `${process.execPath} ${script}`;
	// Run from sources (tsx): the installed bin is the sensible default.
	return "/usr/local/bin/modelfs";
}
