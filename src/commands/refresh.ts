import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { Command } from "commander";
import { defaultConfigPath } from "../config/defaultConfigPath.js";
import { readConfig } from "../config/readConfig.js";
import { MountError } from "../errors.js";
import { listModelfsMounts } from "../mount/listModelfsMounts.js";
import { type RefreshedStoreView, refreshStoreView } from "../node/refreshStoreView.js";

interface RefreshOptions {
	force?: boolean;
	dropCaches?: boolean;
	config?: string;
	json?: boolean;
}

/** `modelfs refresh [<mountpoint>...]`: new models into live views, in place. */
export function refreshCommand(): Command {
	return new Command("refresh")
		.description("switch live views to the store's newest catalog in place: no view or overlay is unmounted, running backends see the new models")
		.argument("[mountpoint...]", "the views (default: every modelfs view mounted on this node)")
		.option("--force", "switch even when a view shows the newest catalog already")
		.option("--drop-caches", "then drop unused dentries (echo 2 > /proc/sys/vm/drop_caches) so names an overlay looked up while missing appear too")
		.option("--config <file>", "config file whose views' dropCaches setting applies (default: $MODELFS_CONFIG, else /etc/modelfs/config.yaml, if it exists)")
		.option("--json", "print the result as JSON")
		.action(async (mountpoints: string[], opts: RefreshOptions) => {
			const log = (line: string) => process.stderr.write(`modelfs: ${line}\n`);
			const path = defaultConfigPath({ config: opts.config });
			const config = opts.config !== undefined || existsSync(path) ? await readConfig({ path }) : null;
			const all = await listModelfsMounts();
			const wanted = mountpoints.map((m) => resolve(m));
			for (const m of wanted) {
				if (!all.some((x) => x.mountpoint === m)) {
					throw new MountError("MOUNT_NOT_MOUNTED", `no modelfs view is mounted at ${m}`, { path: m, hint: "`modelfs status` lists the mounted views" });
				}
			}
			const targets = all.filter((m) => (wanted.length === 0 ? true : wanted.includes(m.mountpoint)));
			const done: RefreshedStoreView[] = [];
			const failed: Array<{ mountpoint: string; message: string }> = [];
			for (const m of targets) {
				if (m.record === null || (m.state !== "live" && m.state !== "degraded")) {
					const why = m.record === null ? "not mounted by this node's modelfs (no mount.json)" : `its state is ${m.state}`;
					if (wanted.length > 0) failed.push({ mountpoint: m.mountpoint, message: why });
					else log(`view ${m.mountpoint}: skipped, ${why}`);
					continue;
				}
				const dropCaches = opts.dropCaches === true || config?.views.some((v) => v.mountpoint === m.mountpoint && v.dropCaches) === true;
				try {
					done.push(await refreshStoreView({ mount: m, force: opts.force === true, dropCaches, log }));
				} catch (err) {
					failed.push({ mountpoint: m.mountpoint, message: (err as Error).message });
					log(`view ${m.mountpoint}: ${(err as Error).message}`);
				}
			}
			if (opts.json) process.stdout.write(`${JSON.stringify({ views: done, failed }, null, 2)}\n`);
			else {
				if (targets.length === 0) process.stdout.write("no modelfs views mounted\n");
				for (const r of done) {
					if (!r.refreshed) process.stdout.write(`view ${r.mountpoint}: already shows catalog ${r.to}\n`);
					else {
						const x = r.result;
						const drop = r.droppedCaches ? `, dentries dropped in ${r.dropSeconds.toFixed(3)} s` : "";
						process.stdout.write(
							`view ${r.mountpoint}: catalog ${r.from} -> ${r.to} in ${x?.seconds.toFixed(3)} s (${x?.added} names added, ${x?.removed} removed, ${x?.changed} files changed${drop})\n`,
						);
					}
				}
			}
			if (failed.length > 0) {
				throw new MountError("REFRESH_FAILED", `${failed.length} view(s) not refreshed: ${failed.map((f) => `${f.mountpoint} (${f.message})`).join("; ")}`, {
					hint: "see `modelfs status`; a view that is not live is mounted again by `modelfs up`",
				});
			}
		});
}
