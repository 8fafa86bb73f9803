import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { resolveConfiguredStore } from "../config/resolveConfiguredStore.js";
import { InterruptedError, ModelfsError, UsageError } from "../errors.js";
import { createByteProgress } from "../progress/createByteProgress.js";
import { formatBytes } from "../progress/formatBytes.js";
import { resolveSnapshotPaths } from "../residency/resolveSnapshotPaths.js";
import { runPageCacheTool } from "../residency/runPageCacheTool.js";
import { warmFiles } from "../residency/warmFiles.js";

interface WarmOptions {
	through?: string;
	store?: string;
	config?: string;
	concurrency: string;
	json?: boolean;
	quiet?: boolean;
}

/** `modelfs warm <repo>[@rev]`: read a snapshot into the page cache before a backend starts. */
export function warmCommand(): Command {
	return new Command("warm")
		.description("read a snapshot's files into the page cache in parallel, so a backend about to start loads them hot")
		.argument("<repo>", "org/name[@revision] (datasets/org/name for a dataset); the revision defaults to main")
		.option("--through <dir>", "read through this folder (a view's mountpoint or a backend folder with the view under it) instead of the store's blobs")
		.option("--concurrency <n>", "files read at once", "4")
		.option("--store <dir>", "the store (default: $MODELFS_STORE, else the config file's store, else ~/.local/share/modelfs)")
		.option("--config <file>", "config file to take the store from (default: $MODELFS_CONFIG, else /etc/modelfs/config.yaml)")
		.option("--json", "print the result as JSON")
		.option("--quiet", "no progress bar")
		.addHelpText(
			"after",
			"\nWith FUSE passthrough (the default) the view's reads are the blob's reads, so warming the blobs warms what\n" +
				"backends read through the view and its overlays. When the daemon serves reads itself (no passthrough),\n" +
				"the view keeps its own copy in the cache: warm with --through the folder the backend reads.\n" +
				"Afterwards it prints how much of the snapshot is in the page cache (mincore, via tools/page-cache).\n" +
				"`modelfs evict` drops it again once the backend has copied the weights to GPU memory.",
		)
		.action(async (spec: string, opts: WarmOptions) => {
			const concurrency = Number(opts.concurrency);
			if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
				throw new UsageError("CONCURRENCY_INVALID", `--concurrency must be an integer from 1 to 256, got ${opts.concurrency}`);
			}
			const storeDir = await resolveConfiguredStore({ store: opts.store, config: opts.config });
			const snap = await resolveSnapshotPaths({ storeDir, spec, through: opts.through });
			const files = snap.entries.map((e) => ({ path: e.through ?? e.blob, size: e.size }));
			const memTotal = await readMemTotal();
			if (memTotal !== null && snap.bytes > memTotal) {
				process.stderr.write(
					`modelfs: ${snap.name} is ${formatBytes(snap.bytes)}, more than this node's memory (${formatBytes(memTotal)}): the last files read push out the first\n`,
				);
			}
			const abort = new AbortController();
			const onSignal = () => abort.abort(new InterruptedError("warm interrupted"));
			process.once("SIGINT", onSignal);
			process.once("SIGTERM", onSignal);
			const bar = createByteProgress({ label: `warm ${snap.name}`, total: snap.bytes, quiet: opts.quiet });
			let read: Awaited<ReturnType<typeof warmFiles>>;
			try {
				read = await warmFiles({ files, concurrency, signal: abort.signal, onProgress: (n) => bar.increment(n) });
			} catch (err) {
				if (abort.signal.aborted) throw new InterruptedError("warm interrupted: what was read stays cached");
				throw err;
			} finally {
				bar.stop();
				process.off("SIGINT", onSignal);
				process.off("SIGTERM", onSignal);
			}
			const resident = await residentBytes(snap.entries.map((e) => e.blob));
			const residentThrough = snap.throughDir === null ? null : await residentBytes(snap.entries.map((e) => e.through!));
			const result = {
				repo: snap.name,
				type: snap.type,
				commit: snap.commit,
				through: snap.throughDir,
				files: read.files,
				bytes: read.bytes,
				seconds: read.seconds,
				residentBytes: resident,
				residentThroughBytes: residentThrough,
			};
			if (opts.json) {
				process.stdout.write(`${JSON.stringify(result)}\n`);
				return;
			}
			const rate = read.seconds > 0 ? `${(read.bytes / read.seconds / 1e9).toFixed(2)} GB/s` : "-";
			const lines = [`warmed ${snap.name}@${snap.commit}: ${read.files} files, ${formatBytes(read.bytes)} read in ${read.seconds.toFixed(2)} s (${rate})`];
			if (resident !== null) lines.push(`in the page cache: ${formatBytes(resident)} of ${formatBytes(snap.bytes)} (${percent(resident, snap.bytes)}) of the store's blobs`);
			if (residentThrough !== null)
				lines.push(`in the page cache: ${formatBytes(residentThrough)} of ${formatBytes(snap.bytes)} (${percent(residentThrough, snap.bytes)}) through ${snap.throughDir}`);
			process.stdout.write(`${lines.join("\n")}\n`);
		});
}

function percent(a: number, b: number): string {
	return b === 0 ? "100%" : `${((a / b) * 100).toFixed(0)}%`;
}

/** Resident bytes of these files, or null when the helper is not built (said on stderr). */
async function residentBytes(paths: string[]): Promise<number | null> {
	try {
		const r = await runPageCacheTool({ mode: "resident", paths });
		return r.reduce((n, x) => n + (x.resident ?? 0), 0);
	} catch (err) {
		if (err instanceof ModelfsError && err.code === "PAGE_CACHE_TOOL_MISSING") {
			process.stderr.write(`modelfs: ${err.message}: residency not measured\n`);
			return null;
		}
		throw err;
	}
}

async function readMemTotal(): Promise<number | null> {
	const text = await readFile("/proc/meminfo", "utf8").catch(() => "");
	const m = /^MemTotal:\s+(\d+) kB/m.exec(text);
	return m ? Number(m[1]) * 1024 : null;
}
