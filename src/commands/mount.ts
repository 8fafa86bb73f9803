import { Command, InvalidArgumentError, Option } from "commander";
import { MountError, UsageError } from "../errors.js";
import { assertCanMount } from "../mount/assertCanMount.js";
import type { StartedMount } from "../mount/startMount.js";
import { stopMount } from "../mount/stopMount.js";
import { mountStoreView } from "../node/mountStoreView.js";
import { formatBytes } from "../progress/formatBytes.js";
import { resolveStoreDir } from "../store/resolveStoreDir.js";
import { VIEW_LAYOUTS, type ViewLayout } from "../view/buildViewTree.js";
import { DEFAULT_PREFETCH_PATTERNS } from "../view/matchesPrefetch.js";

interface MountOptions {
	layout: ViewLayout;
	prefix?: string;
	files?: boolean;
	template?: string;
	repo: string[];
	passthrough: boolean;
	prefetch: "on" | "off";
	prefetchPatterns?: string;
	nonempty?: boolean;
	foreground?: boolean;
	metricsPort?: number;
	metricsAddress?: string;
	threads: number;
	store?: string;
	json?: boolean;
}

function integer(min: number, max: number) {
	return (value: string): number => {
		const n = Number(value);
		if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
		return n;
	};
}

/** `modelfs mount <mountpoint>`: the read-only FUSE view of the store. */
export function mountCommand(): Command {
	return new Command("mount")
		.description("mount the store's read-only view (Hugging Face cache layout by default) at <mountpoint>")
		.argument("<mountpoint>", "an existing empty directory")
		.addOption(new Option("--layout <layout>", "tree layout").choices([...VIEW_LAYOUTS]).default("hf"))
		.option("--prefix <path>", "folders the view sits under, e.g. huggingface/hub for a backend folder mounted at /root/.cache")
		.option("--files", "hf layout: regular files in snapshots/ instead of symlinks to blobs/")
		.option("--template <template>", "template layout: e.g. {org}/{name}/{revision}/{path}")
		.option("--repo <repo>", "only this repo (org/name); repeat for more", (v: string, prev: string[]) => [...prev, v], [] as string[])
		.option("--nonempty", "mount even if <mountpoint> holds files (they stay hidden while the view is mounted)")
		.option("--no-passthrough", "serve reads from the daemon instead of FUSE passthrough")
		.addOption(
			new Option("--prefetch <on|off>", "read weight files ahead into the page cache in the background when they are opened (16 MiB at a time, pages already cached skipped)")
				.choices(["on", "off"])
				.default("off"),
		)
		.option("--prefetch-patterns <list>", `with --prefetch on: the files to read ahead, comma-separated (default: ${DEFAULT_PREFETCH_PATTERNS.join(",")})`)
		.option("--foreground", "stay attached until the view is unmounted (for systemd); SIGTERM unmounts")
		.option("--metrics-port <port>", "serve Prometheus metrics on this TCP port (0: any free port, printed with --json)", integer(0, 65535))
		.option("--metrics-address <addr>", "the address metrics listen on, e.g. 127.0.0.1 (default: every address, 0.0.0.0)")
		.option("--threads <n>", "daemon worker threads, each on its own /dev/fuse fd", integer(1, 16), 4)
		.option("--store <dir>", "store directory (default: $MODELFS_STORE, else $XDG_DATA_HOME/modelfs)")
		.option("--json", "print the result as JSON")
		.action(async (mountpoint: string, opts: MountOptions) => {
			if (opts.template !== undefined && opts.layout !== "template") {
				throw new UsageError("VIEW_BAD_LAYOUT", "--template needs --layout template", { hint: "add --layout template" });
			}
			assertCanMount({ mountpoint });
			const storeDir = resolveStoreDir({ store: opts.store });
			// Foreground: SIGTERM/SIGINT detach the view; the holder then ends.
			// Listen from before the mount: without a listener a signal while it
			// starts would end this process and leave the holder and mount behind.
			let mounted: StartedMount | null = null;
			let stopping = false;
			const stop = (m: StartedMount) => void stopMount({ mountpoint: m.mountpoint, lazy: true }).catch(() => m.stop());
			const onSignal = () => {
				if (stopping) return;
				stopping = true;
				if (mounted !== null) stop(mounted);
			};
			if (opts.foreground) {
				process.on("SIGTERM", onSignal);
				process.on("SIGINT", onSignal);
			}
			try {
				const view = await mountStoreView({
					storeDir,
					mountpoint,
					layout: opts.layout,
					prefix: opts.prefix,
					files: opts.files === true,
					template: opts.template,
					repos: opts.repo,
					passthrough: opts.passthrough,
					prefetch: opts.prefetch === "on" ? (opts.prefetchPatterns?.split(",").filter((x) => x !== "") ?? [...DEFAULT_PREFETCH_PATTERNS]) : [],
					nonempty: opts.nonempty === true,
					foreground: opts.foreground === true,
					threads: opts.threads,
					metricsPort: opts.metricsPort ?? null,
					metricsAddress: opts.metricsAddress,
					log: (line) => process.stderr.write(`modelfs: ${line}\n`),
				});
				mounted = view.mount;
				// A signal that came while it started.
				if (stopping) stop(mounted);
				const summary = {
					mountpoint: mounted.mountpoint,
					files: mounted.image.files,
					bytes: mounted.image.fileBytes,
					layout: opts.layout,
					catalogGeneration: view.generation,
					holderPid: mounted.holderPid,
					runtimeDir: mounted.runtimeDir,
					metricsPort: view.metricsPort,
					skipped: view.skipped,
					detachedDeadMount: mounted.detachedDeadMount,
				};
				if (opts.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
				else {
					const metrics = view.metricsPort !== null ? `, metrics on :${view.metricsPort}` : "";
					process.stdout.write(`mounted ${mounted.mountpoint}: ${mounted.image.files} files, ${formatBytes(mounted.image.fileBytes)} (${opts.layout} layout${metrics})\n`);
				}
				if (!opts.foreground) return;
				const code = await mounted.exited;
				if (code !== 0) {
					throw new MountError("MOUNT_ENDED", `the view at ${mounted.mountpoint} ended with holder exit status ${code}`, {
						path: mounted.mountpoint,
						hint: `look at the daemon's log in ${mounted.runtimeDir}`,
					});
				}
			} finally {
				process.off("SIGTERM", onSignal);
				process.off("SIGINT", onSignal);
			}
		});
}
