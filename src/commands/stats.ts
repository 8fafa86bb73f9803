import { resolve } from "node:path";
import { Command } from "commander";
import { MountError } from "../errors.js";
import { listModelfsMounts } from "../mount/listModelfsMounts.js";
import { readMountStats } from "../mount/readMountStats.js";
import { formatBytes } from "../progress/formatBytes.js";
import { readBlockDeviceStats } from "../system/readBlockDeviceStats.js";

/** `modelfs stats <mountpoint>`: the daemon's counters and the store device's. */
export function statsCommand(): Command {
	return new Command("stats")
		.description("counters of a mounted view: requests, opens, passthrough, fallback reads, errors, latency, store device I/O")
		.argument("<mountpoint>", "where the view is mounted")
		.option("--json", "print JSON")
		.action(async (mountpointArg: string, opts: { json?: boolean }) => {
			const mountpoint = resolve(mountpointArg);
			const mount = (await listModelfsMounts()).filter((m) => m.mountpoint === mountpoint).pop();
			const stats = mount ? await readMountStats({ runtimeDir: mount.runtimeDir }) : null;
			if (!mount || !stats) {
				throw new MountError("MOUNT_NOT_MOUNTED", `no modelfs view with counters is mounted at ${mountpoint}`, {
					path: mountpoint,
					hint: "`modelfs status` lists the mounted views",
				});
			}
			const device = mount.record ? await readBlockDeviceStats({ path: mount.record.objectsDir }).catch(() => null) : null;
			if (opts.json) {
				process.stdout.write(`${JSON.stringify({ mountpoint, state: mount.state, stats, storeDevice: device }, null, 2)}\n`);
				return;
			}
			const out: string[] = [];
			const line = (k: string, v: string | number) => out.push(`${k.padEnd(24)} ${v}`);
			line("mountpoint", mountpoint);
			line("state", mount.state);
			line("mode", stats.passthrough ? "passthrough" : "daemon-served reads (fallback)");
			line("started", stats.startedAt);
			line("holder / daemon pid", `${stats.holderPid} / ${stats.daemonPid} (daemon starts: ${stats.daemonStarts})`);
			line("opens", `${stats.opens} (passthrough ${stats.passthroughOpens}, fallback ${stats.fallbackOpens})`);
			line("backing files open", stats.backingIdsOpen);
			line("fallback reads", `${stats.fallbackReads} (${formatBytes(stats.fallbackBytes)})`);
			line("blob errors", stats.blobErrors);
			line("prefetches", stats.prefetches);
			line("prefetch bytes read", stats.prefetchBytes);
			line("prefetch bytes already cached", stats.prefetchResidentBytes);
			const mean = stats.latency.count > 0 ? (stats.latency.sumSeconds / stats.latency.count) * 1e6 : 0;
			line("requests", `${stats.latency.count} answered, mean ${mean.toFixed(1)} µs`);
			for (const [op, n] of Object.entries(stats.requests).sort((a, b) => b[1] - a[1])) line(`  ${op}`, n);
			const errs = Object.entries(stats.errors);
			line("error replies", errs.length === 0 ? "none" : errs.map(([e, n]) => `${e} ${n}`).join(", "));
			if (device) {
				line("store device", `${device.device} (${device.majorMinor})`);
				line("  read", `${formatBytes(device.readBytes)} in ${device.readsCompleted} I/Os, ${device.readTimeMs} ms`);
				line("  in flight", device.ioInProgress);
				for (const c of device.nvmeControllers) line(`  ${c.name}`, `${c.state ?? "?"} (${c.transport ?? "?"} ${c.address ?? ""})`.trim());
			} else {
				line("store device", "none (not on a block device)");
			}
			process.stdout.write(`${out.join("\n")}\n`);
		});
}
