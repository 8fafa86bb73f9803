/**
 * `npm run bench`: load throughput of model files read directly from the
 * store, through the modelfs view (passthrough and daemon-served), through
 * overlayfs on the view and on a plain folder, and through a fuse-native
 * mount; page cache use; metadata; mount to first byte. Prints markdown
 * tables on stdout and writes bench/results/<date>-<host>.json and .svg.
 *
 *   npm run bench                      # 4 GiB, about 5 minutes
 *   npm run bench -- --size 8G --repeat 3
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

const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
const ROWS: RowId[] = ["direct", "passthrough", "daemon", "overlay-view", "overlay-plain", "fuse-native"];

interface Options {
	size: number;
	quick?: boolean;
	json?: string;
	repeat: number;
	verify?: boolean;
	rows?: RowId[];
	files?: number;
	tmp?: string;
	results: boolean;
}

function parseSize(text: string): number {
	const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
	if (!m) throw new InvalidArgumentError(`expected a size such as 512M or 4G, got ${JSON.stringify(text)}`);
	const scale = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2].toLowerCase() as "" | "k" | "m" | "g" | "t"];
	const bytes = Math.round(Number(m[1]) * scale);
	if (bytes < 2 ** 20) throw new InvalidArgumentError("the size must be at least 1M");
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
	const stem = `${report.date.slice(0, 10)}-${report.host.replace(/[^A-Za-z0-9._-]/g, "_")}`;
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
		.option("--repeat <n>", "rounds per measurement (1 cold + 3 warm runs each), the best run is reported", parsePositive, 1)
		.option("--verify", "check every row and pattern served the same bytes (slower)")
		.option("--rows <list>", `only these rows (comma-separated; direct always runs): ${ROWS.join(", ")}`, parseRows)
		.option("--files <n>", "small files for the metadata bench", parsePositive)
		.option("--tmp <dir>", "where to make the work folder (a disk, not tmpfs)")
		.option("--no-results", "write no JSON/SVG unless --json is given")
		.showHelpAfterError();
	program.parse(process.argv);
	const opts = program.opts<Options>();
	const sizeGiven = program.getOptionValueSource("size") === "cli";

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
		report = await runLoadBench({
			session,
			sizeBytes: opts.quick && !sizeGiven ? 64 * 2 ** 20 : opts.size,
			manyFiles: opts.files ?? (opts.quick ? 500 : 10_000),
			repeat: opts.repeat,
			verify: opts.verify ?? opts.quick ?? false,
			quick: opts.quick ?? false,
			rows: opts.rows,
			tmpDir: opts.tmp,
			log,
		});
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
