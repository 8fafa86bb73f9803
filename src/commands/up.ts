import { Command } from "commander";
import { defaultConfigPath } from "../config/defaultConfigPath.js";
import { readConfig } from "../config/readConfig.js";
import { ModelfsError, MountError, UsageError } from "../errors.js";
import { downFromConfig } from "../node/downFromConfig.js";
import { type UpResult, upFromConfig } from "../node/upFromConfig.js";

/**
 * `modelfs up`: mount the configured views, then an overlay under each
 * backend's folder. `--only` rolls out one backend first (canary).
 */
export function upCommand(): Command {
	return new Command("up")
		.description("mount the config's views and put an overlay under each backend's cache folder (idempotent)")
		.option("--config <file>", "config file (default: $MODELFS_CONFIG, else /etc/modelfs/config.yaml)")
		.option("--only <name...>", "only these backends (and the views they read) or views; repeatable, for a canary rollout")
		.option("--refresh", "refresh every live view in place even if it shows the newest catalog (older ones always are); nothing is unmounted")
		.option("--foreground", "stay running until SIGTERM/SIGINT, then take everything down (for a Kubernetes DaemonSet)")
		.option("--leave-up", "with --foreground: on SIGTERM/SIGINT exit and leave views and overlays mounted (their fds parked in a keeper: the next up takes them back)")
		.option("--json", "print the result as JSON")
		.action(async (opts: { config?: string; only?: string[]; refresh?: boolean; foreground?: boolean; leaveUp?: boolean; json?: boolean }) => {
			const config = await readConfig({ path: defaultConfigPath({ config: opts.config }) });
			const log = (line: string) => process.stderr.write(`modelfs: ${line}\n`);
			// Foreground: listen before anything is mounted or printed; a signal
			// with no listener would end this process and leave everything up.
			let signalled = false;
			let wake = () => {};
			const onSignal = () => {
				signalled = true;
				wake();
			};
			if (opts.foreground) {
				process.on("SIGTERM", onSignal);
				process.on("SIGINT", onSignal);
			}
			try {
				const r = await upFromConfig({ config, only: opts.only, refresh: opts.refresh, log });
				print(r, opts.json === true);
				const failure = failureOf(r);
				if (failure !== null) throw failure;
				if (!opts.foreground) return;
				if (!signalled) {
					// Signal handlers do not keep Node's event loop alive: a timer does.
					const keepAlive = setInterval(() => undefined, 1 << 30);
					await new Promise<void>((resolve) => (wake = resolve));
					clearInterval(keepAlive);
				}
				if (opts.leaveUp) {
					log("signal received: leaving the views and overlays mounted (--leave-up); their holders and daemons keep serving");
					return;
				}
				// Still listening: a second signal must not cut the take-down short.
				log("signal received: taking the overlays and views down");
				const down = await downFromConfig({ config, only: opts.only, log });
				log(`down: ${down.backends.filter((b) => b.wasMounted).length} overlays, ${down.views.length} views unmounted`);
			} finally {
				process.off("SIGTERM", onSignal);
				process.off("SIGINT", onSignal);
			}
		});
}

function print(r: UpResult, json: boolean): void {
	if (json) {
		process.stdout.write(
			`${JSON.stringify({ views: r.views, refreshed: r.refreshed, refreshes: r.refreshes, adopted: r.adopted, upgraded: r.upgraded, backends: r.backends, failed: r.failed.map((f) => ({ name: f.name, message: f.error.message })) })}\n`,
		);
		return;
	}
	for (const u of r.upgraded) process.stdout.write(`view at ${u.mountpoint}: modelfs-fused ${u.from} -> ${u.to}, restarted in place\n`);
	for (const a of r.adopted) process.stdout.write(`view at ${a.mountpoint}: taken back from the ${a.from === "systemd" ? "systemd fd store" : "keeper"} (holder ${a.holderPid})\n`);
	for (const v of r.views) {
		const refresh = r.refreshes.find((x) => x.mountpoint === v.mountpoint);
		const how = refresh ? `refreshed in place (catalog ${refresh.from} -> ${refresh.to}, nothing unmounted)` : v.alreadyMounted ? "already mounted" : "mounted";
		process.stdout.write(`view ${v.name}: ${how} at ${v.mountpoint}${v.files !== null ? ` (${v.files} files, catalog generation ${v.generation})` : ""}\n`);
	}
	for (const b of r.backends) {
		const moved = b.moved.files > 0 ? `, ${b.moved.files} existing files kept in upper` : "";
		process.stdout.write(`backend ${b.name}: ${b.alreadyMounted ? "already up" : "up"} at ${b.target} (lower ${b.lower}, upper ${b.upper}${moved})\n`);
	}
	for (const f of r.failed) process.stdout.write(`backend ${f.name}: FAILED: ${f.error.message}\n`);
}

/**
 * The error `up` ends with when some backend failed, naming them: a usage
 * error (exit 2) when every failure was one (a missing target, a bad path),
 * else a mount error (exit 5).
 */
function failureOf(r: UpResult): ModelfsError | null {
	if (r.failed.length === 0) return null;
	const first = r.failed[0].error;
	const message = `${r.failed.length} backend(s) not up: ${r.failed.map((f) => `${f.name} (${f.error.message})`).join("; ")}`;
	const hint = (first instanceof ModelfsError ? first.hint : undefined) ?? "fix the folder named above and run modelfs up again (it is idempotent)";
	if (r.failed.every((f) => f.error instanceof UsageError)) return new UsageError("UP_BACKEND_INVALID", message, { cause: first, hint });
	return new MountError("UP_FAILED", message, { cause: first, hint });
}
