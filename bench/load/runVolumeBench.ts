import { readFileSync } from "node:fs";
import { cpus, hostname, release, totalmem } from "node:os";
import type { BenchSession } from "./BenchSession.js";
import type { BenchReport, DiskId, PatternId, RowId } from "./BenchTypes.js";
import { checkTargets } from "./checkTargets.js";
import { collectResults } from "./collectResults.js";
import { createThrottleGroups } from "./createThrottleGroups.js";
import { daemonPids } from "./daemonPids.js";
import { dropCaches } from "./dropCaches.js";
import { holdPageReporting } from "./holdPageReporting.js";
import { loadPatterns } from "./loadPatterns.js";
import { type LoadCell, measureLoads } from "./measureLoads.js";
import { median } from "./median.js";
import { runLoadgen } from "./runLoadgen.js";
import { setDeviceReadAhead } from "./setDeviceReadAhead.js";
import { setupBench } from "./setupBench.js";
import { splitBackend } from "./splitBackend.js";
import { toTimedRun } from "./toTimedRun.js";
import { Unavailable } from "./Unavailable.js";

export interface RunVolumeBenchParams {
	session: BenchSession;
	/** Bytes of safetensors data to generate and read. */
	sizeBytes: number;
	/** Read requests per second of the throttled volume (blkio.throttle.read_iops_device). @default none */
	readIops?: number;
	/** Read bytes per second of the throttled volume (blkio.throttle.read_bps_device). @default none */
	readBps?: number;
	/** The disk's read_ahead_kb for the run (both devices; restored after). @default the disk's own */
	readAheadKb?: number;
	/** Rounds: every row, pattern and device runs once cold per round; the median is reported. @default 3 */
	repeat?: number;
	/** Bytes per second of the backend pattern's per-byte work. @default 2e9 */
	workRate?: number;
	/** Check every row served the same bytes. @default false */
	verify?: boolean;
	/** The CI smoke run: recorded in the report. @default false */
	quick?: boolean;
	/** Only these rows (direct always runs). @default direct, passthrough, overlay-view, overlay-plain and the prefetch rows */
	rows?: RowId[];
	/** Where the work folder is made; must be a disk, not tmpfs. @default os.tmpdir() */
	tmpDir?: string;
	/** Hold free page reporting back for the run where the kernel lets us (holdPageReporting). @default true */
	holdPageReporting?: boolean;
	log: (line: string) => void;
}

const VOLUME_ROWS: RowId[] = ["direct", "passthrough", "passthrough-prefetch", "overlay-view", "overlay-view-prefetch", "overlay-plain"];
const VOLUME_PATTERNS: PatternId[] = ["seq", "mmap", "loader", "backend", "backend-io"];

/**
 * A slow shared volume on this machine: the store's disk as it is and the
 * same disk through a blkio cgroup that allows `readIops` read requests (or
 * `readBps` bytes) per second, with the loader and the daemons of the views
 * it reads through in that cgroup (with passthrough the kernel reads the
 * blob in the reader's context; a daemon's own reads, daemon-served or
 * prefetch, are its own). Cold runs only, each after drop_caches: the
 * sequential read, the mmap page walk, header-then-tensors and the backend
 * load, on each row with and without prefetch, on both devices, interleaved.
 */
export async function runVolumeBench(params: RunVolumeBenchParams): Promise<BenchReport> {
	const { session, log } = params;
	const started = Date.now();
	const repeat = params.repeat ?? 3;
	const workRate = params.workRate ?? 2e9;
	const verify = params.verify ?? false;
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
	// fuse-native's reads are made by its Node server, which is not put in the group: it would not be throttled.
	if (params.rows?.includes("fuse-native")) log("the slow volume leaves out fuse-native: its server is not in the throttled group");
	const rows = (params.rows ?? VOLUME_ROWS).filter((r) => r !== "fuse-native");
	const setup = await setupBench({ session, sizeBytes: params.sizeBytes, manyFiles: 0, rows, tmpDir: params.tmpDir, log, warn, fail });
	const pageReporting = params.holdPageReporting === false ? null : holdPageReporting({ session, log });
	const { model, device } = setup;
	if (!device) throw new Unavailable("the store is on no block device (tmpfs?): there is nothing to throttle; give --tmp a folder on a disk");
	const groups = createThrottleGroups({ session, diskMajorMinor: device.diskMajorMinor, readIops: params.readIops, readBps: params.readBps });
	const limit = [params.readIops !== undefined ? `${params.readIops} read requests/s` : "", params.readBps !== undefined ? `${(params.readBps / 1e6).toFixed(0)} MB/s` : ""]
		.filter(Boolean)
		.join(", ");
	const readAheadWas = Number(readFileSync(`/sys/block/${device.disk}/queue/read_ahead_kb`, "utf8").trim());
	if (params.readAheadKb !== undefined) {
		setDeviceReadAhead({ session, disk: device.disk, kib: params.readAheadKb });
		log(`read_ahead_kb of ${device.disk}: ${params.readAheadKb} for this run (it was ${readAheadWas})`);
	}
	log(`throttled volume: ${device.disk} (${device.diskMajorMinor}) limited to ${limit} in ${groups.dir.throttled}`);
	const live = setup.rows.filter((r) => r.available);
	const rowOf = (id: RowId) => live.find((r) => r.id === id)!;
	const patterns = loadPatterns({ workRate }).filter((p) => VOLUME_PATTERNS.includes(p.id));
	const patternOf = (id: string) => patterns.find((p) => p.id === id)!;
	const describe = (c: LoadCell) => `${rowOf(c.row).label}, ${patternOf(c.pattern).label}, ${c.disk === "throttled" ? "throttled" : "plain"} disk`;
	const lg = <T>(args: string[], disk: DiskId | null) =>
		runLoadgen<T>({ session, binary: setup.loadgen, args, env: { LOADGEN_DEVSTAT: device.statPath, ...(disk ? { LOADGEN_CGROUP: groups.dir[disk] } : {}) } });

	let dropSeconds = 0;
	const workRuns: number[] = [];
	const workAlone = async () => {
		const r = await lg<{ seconds: number }>(["backend", "work", String(workRate), "0", ...rowOf("direct").files], null);
		workRuns.push(r.seconds);
	};
	const cells: LoadCell[] = patterns.flatMap((p) => live.flatMap((r) => (["plain", "throttled"] as DiskId[]).map((disk) => ({ row: r.id, pattern: p.id, disk }))));
	log(`${live.length} rows x ${patterns.length} patterns x 2 devices x ${repeat} rounds, each: drop_caches, 1 cold run`);
	const cellRuns = await measureLoads({
		cells,
		repeat,
		warmRuns: 0,
		onRound: workAlone,
		beforeCold: async (c) => {
			dropSeconds += await dropCaches({ session });
			// The daemons serving this row read (or prefetch) in the cell's device group.
			groups.place(daemonPids({ views: rowOf(c.row).views }), c.disk);
			return (await lg<{ resident: number }>(["resident", ...setup.cacheOwners], null)).resident;
		},
		run: async (c) => {
			const before = groups.counters(c.disk);
			const r = toTimedRun(await lg(patternOf(c.pattern).args(rowOf(c.row), verify), c.disk));
			const after = groups.counters(c.disk);
			return { ...r, cgroup: { ios: after.ios - before.ios, bytes: after.bytes - before.bytes } };
		},
		onError: (c, err) => {
			if (session.interrupted) throw err;
			fail(`${describe(c)}: ${err.message}`);
		},
		onCell: (runs, round) => {
			const cold = runs.cold.at(-1)!;
			const dev = cold.device
				? `  ${cold.device.requests} req, ${(cold.device.bytes / 2 ** 20).toFixed(0)} MiB, cgroup ${((cold.cgroup?.bytes ?? 0) / 2 ** 20).toFixed(0)} MiB`
				: "";
			log(
				`round ${round + 1}/${repeat}  ${runs.cell.disk.padEnd(9)} ${patternOf(runs.cell.pattern).label.padEnd(32)} ${rowOf(runs.cell.row).label.padEnd(44)} ${cold.gbps.toFixed(2).padStart(6)} GB/s${dev} majflt ${cold.majorFaults}`,
			);
		},
	});
	while (workRuns.length < 3) await workAlone();
	const load = collectResults({ cellRuns, weightBytes: model.weightBytes, describe, fail, warn });
	// A throttled run whose bytes were not charged to the group was not throttled.
	for (const l of load.filter((x) => x.disk === "throttled")) {
		const charged = median(l.runs.map((r) => r.cgroup?.bytes ?? 0));
		if (charged < 0.9 * model.weightBytes)
			warn(`${describe(l)}: only ${(charged / 2 ** 20).toFixed(0)} MiB of ${(model.weightBytes / 2 ** 20).toFixed(0)} MiB were charged to the throttled group`);
	}
	const workSeconds = median(workRuns);
	const report: BenchReport = {
		format: 2,
		kind: "volume",
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
			warmRunsPerRound: 0,
			order: "williams",
			statistic: "median",
			device: { name: device.name, majorMinor: device.majorMinor, statPath: device.statPath },
			dropSeconds,
			pageReporting,
		},
		sizeBytes: model.weightBytes,
		weightFiles: model.weights.length,
		prefetch: setup.prefetch,
		throttle: {
			cgroup: groups.dir.throttled,
			majorMinor: device.diskMajorMinor,
			readIops: params.readIops ?? null,
			readBps: params.readBps ?? null,
			readAheadKb: params.readAheadKb ?? readAheadWas,
			readAheadKbOfDisk: readAheadWas,
			members: ["the loader (loadgen)", "the modelfs daemon of the view the row reads through"],
		},
		work: { rateBytesPerSecond: workRate, aloneSeconds: workSeconds, aloneRuns: workRuns },
		rows: setup.rows.map(({ id, label, available, note }) => ({ id, label, available, ...(note ? { note } : {}) })),
		patterns: patterns.map(({ id, label }) => ({ id, label })),
		load,
		backend: splitBackend({ load, workSeconds }),
		memory: [],
		metadata: { files: 0, rows: [] },
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
