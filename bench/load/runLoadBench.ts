import { readFileSync } from "node:fs";
import { cpus, hostname, release, totalmem } from "node:os";
import { join } from "node:path";
import type { BenchSession } from "./BenchSession.js";
import type { BenchReport, MemoryResult, MetadataResult, RowId } from "./BenchTypes.js";
import { checkTargets } from "./checkTargets.js";
import { collectResults } from "./collectResults.js";
import { dropCaches } from "./dropCaches.js";
import { holdPageReporting } from "./holdPageReporting.js";
import { loadPatterns } from "./loadPatterns.js";
import { type LoadCell, measureLoads } from "./measureLoads.js";
import { median } from "./median.js";
import { runLoadgen } from "./runLoadgen.js";
import { setupBench } from "./setupBench.js";
import { splitBackend } from "./splitBackend.js";
import { toTimedRun } from "./toTimedRun.js";

export interface RunLoadBenchParams {
	session: BenchSession;
	/** Bytes of safetensors data to generate and read. */
	sizeBytes: number;
	/** Small files for the stat/readdir bench. @default 10000 */
	manyFiles?: number;
	/** Rounds: every row and pattern runs once cold and `warmRuns` times warm per round; the median is reported. @default 3 */
	repeat?: number;
	/** Warm runs after each cold run. @default 3 */
	warmRuns?: number;
	/** Bytes per second of the backend pattern's per-byte work. @default 2e9 */
	workRate?: number;
	/** Check every row served the same bytes (costs a pass over the data). @default false */
	verify?: boolean;
	/** The CI smoke run: recorded in the report. @default false */
	quick?: boolean;
	/** Only these rows (direct always runs: it is the reference). @default all */
	rows?: RowId[];
	/** Where the work folder is made; must be a disk, not tmpfs. @default os.tmpdir() */
	tmpDir?: string;
	/** Hold free page reporting back for the run where the kernel lets us (holdPageReporting). @default true */
	holdPageReporting?: boolean;
	/** Progress lines (stderr). */
	log: (line: string) => void;
}

const ALL_ROWS: RowId[] = ["direct", "passthrough", "passthrough-prefetch", "daemon", "overlay-view", "overlay-view-prefetch", "overlay-plain", "fuse-native"];

/**
 * The load bench: generates safetensors shards, imports them into a temp
 * store, mounts every row (view with and without passthrough, with and
 * without prefetch when the daemon has it, overlays, fuse-native), reads
 * the same files through each with each access pattern cold and warm, then
 * measures page cache use, metadata and mount time. Cold runs start after
 * `sync; echo 3 > /proc/sys/vm/drop_caches`; rows and patterns are
 * interleaved round by round; every run records the store device's
 * requests and bytes. Everything it mounts or starts is undone by
 * `session.close()`.
 */
export async function runLoadBench(params: RunLoadBenchParams): Promise<BenchReport> {
	const { session, log } = params;
	const started = Date.now();
	const repeat = params.repeat ?? 3;
	const warmRuns = params.warmRuns ?? 3;
	const workRate = params.workRate ?? 2e9;
	const verify = params.verify ?? false;
	const manyCount = params.manyFiles ?? 10_000;
	const warnings: string[] = [];
	const failures: string[] = [];
	const warn = (line: string) => {
		warnings.push(line);
		log(`warning: ${line}`);
	};
	const fail = (line: string) => {
		failures.push(line);
		log(`FAILED: ${line}`);
	};
	const setup = await setupBench({ session, sizeBytes: params.sizeBytes, manyFiles: manyCount, rows: params.rows ?? ALL_ROWS, tmpDir: params.tmpDir, log, warn, fail });
	const pageReporting = params.holdPageReporting === false ? null : holdPageReporting({ session, log });
	const { model, device } = setup;
	const env: Record<string, string> = device ? { LOADGEN_DEVSTAT: device.statPath } : {};
	const lg = <T>(args: string[], input?: string) => runLoadgen<T>({ session, binary: setup.loadgen, args, input, env });
	if (!device) warn("the store is on no block device (tmpfs?): no device figures");
	const live = setup.rows.filter((r) => r.available);
	const rowOf = (id: RowId) => live.find((r) => r.id === id)!;
	const patterns = loadPatterns({ workRate });
	const patternOf = (id: string) => patterns.find((p) => p.id === id)!;
	const describe = (c: LoadCell) => `${rowOf(c.row).label}, ${patternOf(c.pattern).label}`;

	let dropSeconds = 0;
	const drop = async () => {
		dropSeconds += await dropCaches({ session });
		return (await lg<{ resident: number }>(["resident", ...setup.cacheOwners])).resident;
	};

	log(`${live.length} rows x ${patterns.length} patterns x ${repeat} rounds, each: drop_caches, 1 cold + ${warmRuns} warm runs`);
	const workRuns: number[] = [];
	const workAlone = async () => {
		const r = await lg<{ seconds: number }>(["backend", "work", String(workRate), "0", ...rowOf("direct").files]);
		workRuns.push(r.seconds);
	};
	const cells: LoadCell[] = patterns.flatMap((p) => live.map((r) => ({ row: r.id, pattern: p.id, disk: "plain" as const })));
	const cellRuns = await measureLoads({
		cells,
		repeat,
		warmRuns,
		// The baseline is 10x slower than the rest: one cold and one warm run tell its story.
		limits: (c) => (c.row === "fuse-native" ? { rounds: 1, warmRuns: 1 } : {}),
		onRound: async () => {
			// The backend's work alone touches no file: once a round, beside the rest.
			await workAlone();
		},
		beforeCold: drop,
		run: async (c) => toTimedRun(await lg(patternOf(c.pattern).args(rowOf(c.row), verify))),
		onError: (c, err) => {
			if (session.interrupted) throw err;
			fail(`${describe(c)}: ${err.message}`);
		},
		onCell: (runs, round) => {
			const cold = runs.cold.at(-1)!;
			const warm = runs.warm.length > 0 ? median(runs.warm.slice(-warmRuns).map((r) => r.gbps)) : Number.NaN;
			const dev = cold.device ? `  ${cold.device.requests} req, ${(cold.device.bytes / 2 ** 20).toFixed(0)} MiB` : "";
			log(
				`round ${round + 1}/${repeat}  ${patternOf(runs.cell.pattern).label.padEnd(32)} ${rowOf(runs.cell.row).label.padEnd(48)} cold ${fmt(cold.gbps)} warm ${fmt(warm)} GB/s${dev}`,
			);
		},
	});
	while (workRuns.length < 3) await workAlone();
	const load = collectResults({ cellRuns, weightBytes: model.weightBytes, describe, fail, warn });
	const workSeconds = median(workRuns);
	const backend = splitBackend({ load, workSeconds });

	log("page cache per byte read (cold sequential read of every shard)");
	const memory: MemoryResult[] = [];
	for (const row of live) {
		try {
			const residentBefore = await drop();
			const before = meminfoCached();
			const r = await lg<{ bytes: number }>(patternOf("seq").args(row, false));
			const after = meminfoCached();
			const residentAfter = (await lg<{ resident: number }>(["resident", ...setup.cacheOwners])).resident;
			memory.push({
				row: row.id,
				bytesRead: r.bytes,
				meminfoCachedDelta: after - before,
				mincoreDelta: residentAfter - residentBefore,
				perByteMeminfo: (after - before) / r.bytes,
				perByteMincore: (residentAfter - residentBefore) / r.bytes,
			});
		} catch (err) {
			if (session.interrupted) throw err;
			fail(`${row.label}, page cache: ${(err as Error).message}`);
		}
	}

	const metadata: MetadataResult[] = [];
	if (setup.many) {
		const many = setup.many;
		log(`metadata: stat of ${many.count} files and a readdir walk`);
		const metaRows: Array<{ row: RowId | "plain"; label: string; root: string }> = [
			...(setup.rows.some((r) => r.id === "overlay-plain" || r.id === "fuse-native")
				? [{ row: "plain" as const, label: "plain folder (dentries already cached)", root: many.plainRoot }]
				: []),
			...live.filter((r) => r.manyRoot).map((r) => ({ row: r.id, label: r.id === "passthrough" ? "modelfs view" : r.label, root: r.manyRoot! })),
		];
		for (const m of metaRows) {
			try {
				const list = many.statRel.map((p) => join(m.root, p)).join("\n");
				const stat = () => lg<{ entries: number; seconds: number }>(["stat"], list);
				const walk = () => lg<{ entries: number; seconds: number }>(["walk", m.root]);
				const s1 = await stat();
				const w1 = await walk();
				const s2 = await stat();
				const w2 = await walk();
				metadata.push({
					row: m.row,
					label: m.label,
					statCount: s1.entries,
					walkEntries: w1.entries,
					statFirstMs: s1.seconds * 1000,
					statAgainMs: s2.seconds * 1000,
					walkFirstMs: w1.seconds * 1000,
					walkAgainMs: w2.seconds * 1000,
				});
			} catch (err) {
				if (session.interrupted) throw err;
				fail(`${m.label}, metadata: ${(err as Error).message}`);
			}
		}
		const walkCounts = new Set(metadata.map((m) => m.walkEntries));
		if (walkCounts.size > 1) fail(`the readdir walks saw different entry counts: ${metadata.map((m) => `${m.label} ${m.walkEntries}`).join(", ")}`);
	}

	const report: BenchReport = {
		format: 2,
		kind: "load",
		date: new Date(started).toISOString(),
		host: hostname(),
		kernel: release(),
		cpu: cpus()[0]?.model ?? "unknown",
		cores: cpus().length,
		memBytes: totalmem(),
		quick: params.quick ?? false,
		repeat,
		method: {
			cold: "drop_caches",
			coldRunsPerRound: 1,
			warmRunsPerRound: warmRuns,
			order: "williams",
			statistic: "median",
			device: device ? { name: device.name, majorMinor: device.majorMinor, statPath: device.statPath } : null,
			dropSeconds,
			pageReporting,
		},
		sizeBytes: model.weightBytes,
		weightFiles: model.weights.length,
		prefetch: setup.prefetch,
		throttle: null,
		work: { rateBytesPerSecond: workRate, aloneSeconds: workSeconds, aloneRuns: workRuns },
		rows: setup.rows.map(({ id, label, available, note }) => ({ id, label, available, ...(note ? { note } : {}) })),
		patterns: patterns.map(({ id, label }) => ({ id, label })),
		load,
		backend,
		memory,
		metadata: { files: setup.many?.count ?? 0, rows: metadata },
		mount: setup.mount,
		targets: [],
		durationSeconds: 0,
		failures,
		warnings,
	};
	report.targets = checkTargets({ report });
	report.durationSeconds = (Date.now() - started) / 1000;
	return report;
}

function fmt(gbps: number): string {
	return Number.isNaN(gbps) ? "     -" : gbps.toFixed(2).padStart(6);
}

/** `Cached` of /proc/meminfo, in bytes. */
function meminfoCached(): number {
	const m = /^Cached:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
	return m ? Number(m[1]) * 1024 : 0;
}
