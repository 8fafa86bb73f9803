/**
 * `npm run bench`: load throughput of model files read directly from the
 * store, through the modelfs view (passthrough and daemon-served, with and
 * without prefetch once the daemon has it), through overlayfs on the view
 * and on a plain folder, and through a fuse-native mount, cold (after
 * drop_caches) and warm, beside the device I/O each run made; a backend's
 * load split into reading and working; page cache use; metadata; mount to
 * first byte. With --throttle-iops / --throttle-bps: the slow-volume bench
 * instead (plain vs blkio-throttled disk, cold). Prints markdown tables on
 * stdout and writes bench/results/<date>-<host>[-volume].json and .svg.
 *
 *   npm run bench                      # 4 GiB, 3 rounds
 *   npm run bench -- --throttle-iops 200 --read-ahead-kb 128 --size 1G
 *   npm run bench -- --quick           # CI smoke: every row works, bytes verified
 *
 * Needs root and /dev/fuse (it mounts), a C compiler (bench/loadgen.c),
 * and for the fuse-native row libfuse.so.2 (apt-get install libfuse2).
 */

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { BenchSession } from "./load/BenchSession.js";
import type { BenchReport, RowId } from "./load/BenchTypes.js";
import { formatTables } from "./load/formatTables.js";
import { renderChart } from "./load/renderChart.js";
import { runLoadBench } from "./load/runLoadBench.js";
import { runVolumeBench } from "./load/runVolumeBench.js";

const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
const ROWS: RowId[] = ["direct", "passthrough", "passthrough-prefetch", "daemon", "overlay-view", "overlay-view-prefetch", "overlay-plain", "fuse-native"];

interface Options {
	size: number;
	quick?: boolean;
	json?: string;
	repeat?: number;
	warmRuns: number;
	workRate: number;
	throttleIops?: number;
	throttleBps?: number;
	readAheadKb?: number;
	verify?: boolean;
	rows?: RowId[];
	files?: number;
	tmp?: string;
	results: boolean;
	keepPageReporting?: boolean;
}

function parseSize(text: string): number {
	const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
	if (!m) throw new InvalidArgumentError(`expected a size such as 512M or 4G, got ${JSON.stringify(text)}`);
	const scale = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2].toLowerCase() as "" | "k" | "m" | "g" | "t"];
	const bytes = Math.round(Number(m[1]) * scale);
	if (bytes < 2 ** 20) throw new InvalidArgumentError("the size must be at least 1M");
	return bytes;
}

/** A rate such as 2G, 500M or 2000000000 (bytes per second). */
function parseRate(text: string): number {
	const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:b\/s)?$/i.exec(text.trim());
	if (!m) throw new InvalidArgumentError(`expected bytes per second such as 2G or 500M, got ${JSON.stringify(text)}`);
	const bytes = Number(m[1]) * { "": 1, k: 1e3, m: 1e6, g: 1e9 }[m[2].toLowerCase() as "" | "k" | "m" | "g"];
	if (!(bytes >= 1e6)) throw new InvalidArgumentError("the rate must be at least 1M (bytes per second)");
	return bytes;
}

function parsePositive(text: string): number {
	const n = Number(text);
	if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got ${JSON.stringify(text)}`);
	return n;
}

function parseRows(text: string): RowId[] {
	const ids = text.split(",").map((s) => s.trim());
	for (const id of ids) if (!(ROWS as string[]).includes(id)) throw new InvalidArgumentError(`unknown row ${JSON.stringify(id)}; rows: ${ROWS.join(", ")}`);
	return ids as RowId[];
}

/** bench/results/<date>-<host>.json, or -2, -3... when that day already has one. */
function resultsPath(report: BenchReport): string {
	const stem = `${report.date.slice(0, 10)}-${report.host.replace(/[^A-Za-z0-9._-]/g, "_")}${report.kind === "volume" ? "-volume" : ""}`;
	for (let i = 1; ; i++) {
		const path = join(resultsDir, `${stem}${i === 1 ? "" : `-${i}`}.json`);
		if (!existsSync(path)) return path;
	}
}

async function main(): Promise<void> {
	const program = new Command("bench")
		.description("Load throughput: direct read vs modelfs view vs overlay vs fuse-native, on the same generated safetensors files")
		.option("--size <size>", "bytes of safetensors data to generate and read (K, M, G suffixes)", parseSize, 4 * 2 ** 30)
		.option("--quick", "CI smoke run: 64M, 500 small files, bytes verified on every row; checks it works, not its speed")
		.option("--json <file>", "write the JSON report here (and the SVG chart beside it) instead of bench/results/")
		.option("--repeat <n>", "rounds: every row and pattern runs once cold (after drop_caches) per round; the median is reported (default 3, --quick 1)", parsePositive)
		.option("--warm-runs <n>", "warm runs right after each cold run", parsePositive, 3)
		.option("--work-rate <rate>", "the backend pattern's per-byte work, in bytes/s (a stand-in for the copy to the GPU)", parseRate, 2e9)
		.option("--throttle-iops <n>", "slow-volume bench: plain disk vs the store's disk limited to <n> read requests/s (blkio cgroup), cold runs", parsePositive)
		.option("--throttle-bps <rate>", "slow-volume bench: limit reads to <rate> bytes/s (with or without --throttle-iops)", parseRate)
		.option("--read-ahead-kb <n>", "slow-volume bench: the store disk's read_ahead_kb for the run, restored after (128 is the kernel's default)", parsePositive)
		.option("--verify", "check every row and pattern served the same bytes (slower)")
		.option("--rows <list>", `only these rows (comma-separated; direct always runs): ${ROWS.join(", ")}`, parseRows)
		.option("--files <n>", "small files for the metadata bench", parsePositive)
		.option("--tmp <dir>", "where to make the work folder (a disk, not tmpfs)")
		.option("--no-results", "write no JSON/SVG unless --json is given")
		.option(
			"--keep-page-reporting",
			"on a VM that gives freed memory back to its host (free page reporting), leave it on during the run; by default it is held back so every cold run starts from the same memory",
		)
		.showHelpAfterError();
	program.parse(process.argv);
	const opts = program.opts<Options>();
	const sizeGiven = program.getOptionValueSource("size") === "cli";
	const warmGiven = program.getOptionValueSource("warmRuns") === "cli";

	if (opts.readAheadKb !== undefined && opts.throttleIops === undefined && opts.throttleBps === undefined) {
		process.stderr.write("bench: --read-ahead-kb is for the slow-volume bench: give --throttle-iops or --throttle-bps with it\n");
		process.exitCode = 2;
		return;
	}
	if (typeof process.getuid === "function" && process.getuid() !== 0) {
		process.stderr.write("bench: the load bench mounts FUSE and overlayfs, so it needs root (and /dev/fuse): run it with sudo\n");
		process.exitCode = 2;
		return;
	}
	const session = new BenchSession();
	const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
	const onSignal = (signal: NodeJS.Signals) => {
		if (session.interrupted) {
			// Second Ctrl-C: clean up right now.
			session.close();
			process.exit(130);
		}
		log(`${signal}: stopping and cleaning up (again to force)`);
		session.interrupt();
	};
	process.on("SIGINT", onSignal);
	process.on("SIGTERM", onSignal);
	// A crash must not leave mounts behind either.
	process.on("uncaughtException", (err) => {
		log(`crashed: ${err.stack ?? err.message}`);
		session.close();
		process.exit(1);
	});
	let report: BenchReport;
	try {
		const common = {
			session,
			sizeBytes: opts.quick && !sizeGiven ? 64 * 2 ** 20 : opts.size,
			repeat: opts.repeat ?? (opts.quick ? 1 : 3),
			workRate: opts.workRate,
			verify: opts.verify ?? opts.quick ?? false,
			quick: opts.quick ?? false,
			rows: opts.rows,
			tmpDir: opts.tmp,
			holdPageReporting: !opts.keepPageReporting,
			log,
		};
		report =
			opts.throttleIops !== undefined || opts.throttleBps !== undefined
				? await runVolumeBench({ ...common, readIops: opts.throttleIops, readBps: opts.throttleBps, readAheadKb: opts.readAheadKb })
				: await runLoadBench({ ...common, manyFiles: opts.files ?? (opts.quick ? 500 : 10_000), warmRuns: opts.quick && !warmGiven ? 1 : opts.warmRuns });
	} catch (err) {
		if (session.interrupted) {
			process.exitCode = 130;
			return;
		}
		log(`failed: ${(err as Error).message}`);
		if (process.env.MODELFS_DEBUG === "1") log((err as Error).stack ?? "");
		process.exitCode = 1;
		return;
	} finally {
		log("cleaning up mounts and processes");
		session.close();
		process.off("SIGINT", onSignal);
		process.off("SIGTERM", onSignal);
	}

	process.stdout.write(`${formatTables({ report })}\n`);
	const jsonPath = opts.json ?? (opts.results && !opts.quick ? resultsPath(report) : undefined);
	if (jsonPath) {
		mkdirSync(dirname(jsonPath), { recursive: true });
		writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
		const svgPath = `${jsonPath.replace(/\.json$/i, "")}.svg`;
		writeFileSync(svgPath, renderChart({ report }));
		log(`wrote ${jsonPath} and ${svgPath}`);
	}
	log(`done in ${report.durationSeconds.toFixed(0)} s`);
	if (report.failures.length > 0) {
		log(`${report.failures.length} failure(s): see "Failures" above`);
		process.exitCode = 1;
	}
}

await main();
