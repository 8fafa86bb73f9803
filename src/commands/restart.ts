import { resolve } from "node:path";
import { Command, Option } from "commander";
import { MountError } from "../errors.js";
import { listModelfsMounts } from "../mount/listModelfsMounts.js";
import { restartMount } from "../mount/restartMount.js";

/** `modelfs restart <mountpoint>`: a new daemon and holder take over a live view. */
export function restartCommand(): Command {
	return new Command("restart")
		.description("restart (or upgrade) a live view's daemon and holder from the current modelfs-fused: nothing is unmounted, open files keep reading")
		.argument("<mountpoint>", "where the view is mounted")
		.addOption(new Option("--only <part>", "restart only the daemon or only the holder").choices(["daemon", "holder"]))
		.option("--json", "print the result as JSON")
		.action(async (mountpointArg: string, opts: { only?: "daemon" | "holder"; json?: boolean }) => {
			const mountpoint = resolve(mountpointArg);
			const mount = (await listModelfsMounts()).filter((m) => m.mountpoint === mountpoint).pop();
			if (mount === undefined) {
				throw new MountError("MOUNT_NOT_MOUNTED", `no modelfs view is mounted at ${mountpoint}`, { path: mountpoint, hint: "`modelfs status` lists the mounted views" });
			}
			if (mount.state !== "live" && mount.state !== "degraded") {
				throw new MountError("MOUNT_DEAD", `the view at ${mountpoint} is ${mount.state}: no holder to restart`, {
					path: mountpoint,
					hint: "`modelfs up` (or `modelfs mount`) mounts it again; see `modelfs status`",
				});
			}
			const r = await restartMount({ runtimeDir: mount.runtimeDir, mountpoint, daemon: opts.only !== "holder", holder: opts.only !== "daemon" });
			if (opts.json) {
				process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
				return;
			}
			if (r.daemon) {
				const resent = r.daemon.resent ? "; the old one died mid-handover, its requests were resent" : "";
				process.stdout.write(
					`daemon: ${r.daemon.previousPid} -> ${r.daemon.pid} (${r.daemon.version}), handed over in ${(r.daemon.handoverSeconds * 1000).toFixed(1)} ms${resent}\n`,
				);
			}
			if (r.holder) process.stdout.write(`holder: ${r.holder.previousPid} -> ${r.holder.pid}\n`);
		});
}
