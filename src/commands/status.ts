import { existsSync } from "node:fs";
import { Command } from "commander";
import { defaultConfigPath } from "../config/defaultConfigPath.js";
import { readConfig } from "../config/readConfig.js";
import { MountError } from "../errors.js";
import { collectStatus, type Status } from "../node/collectStatus.js";
import { formatBytes } from "../progress/formatBytes.js";

/** `modelfs status`: the views and backend overlays, mounted or not, with counters. */
export function statusCommand(): Command {
	return new Command("status")
		.description("show modelfs views (counters) and each backend overlay: mounted or not, lower/upper, files served, upper size")
		.option("--config <file>", "config file (default: $MODELFS_CONFIG, else /etc/modelfs/config.yaml; without one, only what is mounted)")
		.option("--require-up", "exit 5 unless every configured view is live and every backend is mounted (readiness probe)")
		.option("--json", "print the status as JSON")
		.action(async (opts: { config?: string; requireUp?: boolean; json?: boolean }) => {
			const path = defaultConfigPath({ config: opts.config });
			const config = opts.config !== undefined || existsSync(path) ? await readConfig({ path }) : null;
			const status = await collectStatus({ config });
			if (opts.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
			else process.stdout.write(render(status));
			if (opts.requireUp) {
				const down = [
					...status.views.filter((v) => v.name !== null && v.state !== "live").map((v) => `view ${v.name}`),
					...status.backends.filter((b) => b.name !== null && !b.mounted).map((b) => `backend ${b.name}`),
				];
				if (down.length > 0) throw new MountError("STATUS_NOT_UP", `not up: ${down.join(", ")}`, { hint: "run modelfs up (see modelfs status for the details)" });
			}
		});
}

function render(s: Status): string {
	const lines: string[] = [];
	if (s.views.length === 0) lines.push("no modelfs views");
	for (const v of s.views) {
		const name = v.name ?? "(not in config)";
		if (!v.mounted) {
			lines.push(`view ${name}  ${v.mountpoint}  not mounted`);
			continue;
		}
		lines.push(
			`view ${name}  ${v.mountpoint}  ${v.state}  ${v.layout ?? "?"} layout  ${v.files ?? "?"} files  ${sizeOrDash(v.bytes)}  catalog ${v.catalogGeneration ?? "?"}${v.stale ? ` (store has ${s.storeGeneration}: modelfs up --refresh shows the new models)` : ""}`,
		);
		const c = v.counters;
		if (c !== null) {
			lines.push(
				`  reads: ${c.passthrough ? "passthrough" : "daemon-served"}  opens ${c.opens} (passthrough ${c.passthroughOpens})  fallback reads ${c.fallbackReads} (${formatBytes(c.fallbackBytes)})  requests ${c.requests}  errors ${c.errors}  blob errors ${c.blobErrors}  daemon starts ${c.daemonStarts}`,
			);
		}
	}
	if (s.backends.length === 0) lines.push("no backends");
	for (const b of s.backends) {
		const name = b.name ?? "(not in config)";
		lines.push(
			`backend ${name}  ${b.target}  ${b.mounted ? "mounted" : "not mounted"}  lower ${b.lower ?? "-"}  upper ${b.upper ?? "-"}  files served ${b.filesServed ?? "-"}  upper ${b.upperFiles ?? 0} files ${sizeOrDash(b.upperBytes)}`,
		);
		if (b.upperUnreadable.length > 0) {
			lines.push(`  could not read ${b.upperUnreadable.length} folder(s) of the upper layer (e.g. ${b.upperUnreadable[0]}): permission denied; run as root for the whole figure`);
		}
	}
	return `${lines.join("\n")}\n`;
}

function sizeOrDash(n: number | null): string {
	return n === null ? "-" : formatBytes(n);
}
