import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { defaultConfigPath } from "../config/defaultConfigPath.js";
import { readConfig } from "../config/readConfig.js";
import { ModelfsError, MountError, UsageError } from "../errors.js";
import { serveMetrics } from "../metrics/serveMetrics.js";
import { startMetricsProcess } from "../metrics/startMetricsProcess.js";
import { listModelfsMounts } from "../mount/listModelfsMounts.js";
import { downFromConfig } from "../node/downFromConfig.js";
import { type UpResult, upFromConfig } from "../node/upFromConfig.js";
import { isProcessAlive } from "../system/isProcessAlive.js";

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
		.option("--metrics-port <port>", "serve Prometheus metrics of every view on this TCP port (default: the config's metrics.port, else none)", integer(0, 65535))
		.option("--metrics-address <addr>", "the address metrics listen on (default: the config's metrics.address, else 0.0.0.0)")
		.option("--watch <seconds>", "with --foreground: do it all again every so many seconds (new catalogs refreshed in place, dead views mounted again)", positive)
		.option("--json", "print the result as JSON")
		.action(async (opts: UpOptions) => {
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
				const port = opts.metricsPort ?? config.metrics?.port ?? null;
				const address = opts.metricsAddress ?? config.metrics?.address;
				const metrics = port === null ? null : await serveViewMetrics({ port, address, foreground: opts.foreground === true, views: r.views.map((v) => v.mountpoint) });
				print(r, opts.json === true, metrics?.port ?? null);
				const failure = failureOf(r);
				if (failure !== null) throw failure;
				if (!opts.foreground) return;
				// Signal handlers do not keep Node's event loop alive: a timer does.
				const keepAlive = setInterval(() => undefined, 1 << 30);
				try {
					while (!signalled) {
						const tick = opts.watch === undefined ? null : setTimeout(() => wake(), opts.watch * 1000);
						await new Promise<void>((resolve) => (wake = resolve));
						if (tick !== null) clearTimeout(tick);
						if (signalled) break;
						// --watch: the same reconcile again, quietly: new catalogs (another
						// node ingested) reach the views in place, dead views come back.
						const again = await upFromConfig({ config, only: opts.only, log }).catch((err: Error) => {
							log(`watch: ${err.message}`);
							return null;
						});
						if (again === null) continue;
						for (const x of again.refreshes.filter((r) => r.refreshed)) log(`watch: view at ${x.mountpoint} refreshed in place (catalog ${x.from} -> ${x.to})`);
						for (const v of again.views) if (!v.alreadyMounted) log(`watch: view ${v.name} mounted again at ${v.mountpoint}`);
						for (const f of again.failed) log(`watch: backend ${f.name}: ${f.error.message}`);
					}
				} finally {
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

interface UpOptions {
	config?: string;
	only?: string[];
	refresh?: boolean;
	foreground?: boolean;
	leaveUp?: boolean;
	metricsPort?: number;
	metricsAddress?: string;
	watch?: number;
	json?: boolean;
}

function positive(value: string): number {
	const n = Number(value);
	if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a positive number of seconds");
	return n;
}

function integer(min: number, max: number) {
	return (value: string): number => {
		const n = Number(value);
		if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
		return n;
	};
}

/**
 * Metrics of every view `up` brought up, on one port: served by this process
 * in the foreground (a DaemonSet's container), else by a side process that
 * ends once none of the views is left. A port already served by an earlier
 * `up` (its side process alive) is left as it is.
 */
async function serveViewMetrics(p: { port: number; address?: string; foreground: boolean; views: string[] }): Promise<{ port: number } | null> {
	const mounts = (await listModelfsMounts()).filter((m) => p.views.includes(m.mountpoint) && m.holderPid !== null);
	if (mounts.length === 0) return null;
	if (p.foreground) {
		const server = await serveMetrics({ port: p.port, host: p.address, mountpoints: mounts.map((m) => m.mountpoint) });
		// The server must not keep this process alive by itself; the foreground wait does.
		server.unref();
		const a = server.address();
		return { port: typeof a === "object" && a ? a.port : p.port };
	}
	const first = mounts[0];
	const pidFile = join(first.runtimeDir, "metrics.pid");
	const running = Number.parseInt(await readFile(pidFile, "utf8").catch(() => ""), 10);
	if (Number.isInteger(running) && running > 0 && isProcessAlive(running)) return { port: p.port };
	const port = await startMetricsProcess({
		port: p.port,
		address: p.address,
		mountpoint: first.mountpoint,
		moreMountpoints: mounts.slice(1).map((m) => m.mountpoint),
		holderPid: first.holderPid as number,
		runtimeDir: first.runtimeDir,
		runRoot: undefined,
		logPath: join(first.runtimeDir, "daemon.log"),
		timeoutMs: 30_000,
	});
	return { port };
}

function print(r: UpResult, json: boolean, metricsPort: number | null): void {
	if (json) {
		process.stdout.write(
			`${JSON.stringify({ views: r.views, refreshed: r.refreshed, refreshes: r.refreshes, adopted: r.adopted, upgraded: r.upgraded, backends: r.backends, failed: r.failed.map((f) => ({ name: f.name, message: f.error.message })), metricsPort })}\n`,
		);
		return;
	}
	for (const u of r.upgraded) process.stdout.write(`view at ${u.mountpoint}: modelfs-fused ${u.from} -> ${u.to}, restarted in place\n`);
	if (metricsPort !== null) process.stdout.write(`metrics of every view on :${metricsPort}/metrics\n`);
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
