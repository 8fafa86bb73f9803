import { describe, expect, it } from "vitest";
import type { BenchReport, LoadResult, PatternId, RowId, RunSample } from "../../bench/load/BenchTypes.js";
import { checkTargets } from "../../bench/load/checkTargets.js";
import { formatTables } from "../../bench/load/formatTables.js";
import { renderChart } from "../../bench/load/renderChart.js";

const ROWS: RowId[] = ["direct", "passthrough", "daemon", "overlay-view", "overlay-plain", "fuse-native"];
const PATTERNS: PatternId[] = ["seq", "pread16", "chunks8", "mmap", "loader", "backend", "backend-io"];

function sample(gbps: number, seq: number): RunSample {
	return { round: 0, seq, gbps, seconds: 1 / gbps, device: { requests: 290, merges: 0, bytes: 1 << 30, ms: 900 }, majorFaults: 4, minorFaults: 10 };
}

/** A run where every row reads at `ratios[row]` times the direct speed (5 GB/s warm, 1 GB/s cold). */
function fakeReport(ratios: Partial<Record<RowId, number>>, unavailable: Partial<Record<RowId, string>> = {}): BenchReport {
	const load: LoadResult[] = [];
	for (const pattern of PATTERNS) {
		for (const row of ROWS) {
			if (unavailable[row]) continue;
			for (const temp of ["cold", "warm"] as const) {
				const ratio = ratios[row] ?? 1;
				const gbps = (temp === "cold" ? 1 : 5) * ratio;
				load.push({
					row,
					pattern,
					temp,
					disk: "plain",
					bytes: 1 << 30,
					gbps,
					minGbps: gbps * 0.9,
					maxGbps: gbps * 1.1,
					runs: [sample(gbps * 0.9, 0), sample(gbps, 1), sample(gbps * 1.1, 2)],
					ratio,
					device: { requests: 290, bytes: 1 << 30, avgRequestBytes: (1 << 30) / 290 },
					majorFaultsPerGiB: 4,
				});
			}
		}
	}
	return {
		format: 2,
		kind: "load",
		date: "2026-11-24T01:00:00.000Z",
		host: "testhost",
		kernel: "6.18",
		cpu: "cpu",
		cores: 2,
		memBytes: 2 ** 34,
		quick: false,
		repeat: 3,
		method: {
			cold: "drop_caches",
			coldRunsPerRound: 1,
			warmRunsPerRound: 3,
			order: "williams",
			statistic: "median",
			device: { name: "vda", majorMinor: "254:0", statPath: "/sys/dev/block/254:0/stat" },
			dropSeconds: 12,
		},
		sizeBytes: 1 << 30,
		weightFiles: 4,
		prefetch: { available: false, note: "not measured: no --prefetch yet" },
		throttle: null,
		work: { rateBytesPerSecond: 2e9, aloneSeconds: 0.5, aloneRuns: [0.5, 0.5, 0.5] },
		rows: ROWS.map((id) => ({ id, label: `label of ${id}`, available: !unavailable[id], ...(unavailable[id] ? { note: unavailable[id] } : {}) })),
		patterns: PATTERNS.map((id) => ({ id, label: `pattern ${id}` })),
		load,
		backend: [{ row: "direct", temp: "cold", disk: "plain", totalSeconds: 1.5, ioSeconds: 1, workSeconds: 0.5, overlap: 0 }],
		memory: [{ row: "daemon", bytesRead: 1 << 30, meminfoCachedDelta: 2 << 30, mincoreDelta: 2 << 30, perByteMeminfo: 2, perByteMincore: 2 }],
		metadata: {
			files: 10_000,
			rows: [{ row: "passthrough", label: "modelfs view", statCount: 10_000, walkEntries: 20_011, statFirstMs: 120, statAgainMs: 20, walkFirstMs: 90, walkAgainMs: 30 }],
		},
		mount: [{ what: "modelfs mount", mountMs: 900, firstByteMs: 2, totalMs: 902 }],
		targets: [],
		durationSeconds: 1,
		failures: [],
		warnings: [],
	};
}

/**
 * A slow-volume run: seq 1 GB/s plain and 0.4 GB/s throttled on every row,
 * the other patterns at `patternRatio` of seq, and the prefetch row at
 * `prefetchSpeedup` times the overlay row (or not measured).
 */
function volumeReport(opts: { patternRatio: number; prefetchSpeedup?: number }): BenchReport {
	const base = fakeReport({});
	const rows: RowId[] = ["direct", "overlay-view", "overlay-view-prefetch"];
	const patterns: PatternId[] = ["seq", "mmap", "loader", "backend", "backend-io"];
	const load: LoadResult[] = [];
	for (const row of rows) {
		if (row === "overlay-view-prefetch" && opts.prefetchSpeedup === undefined) continue;
		for (const pattern of patterns) {
			for (const disk of ["plain", "throttled"] as const) {
				let gbps = (disk === "plain" ? 1 : 0.4) * (pattern === "seq" ? 1 : opts.patternRatio);
				if (row === "overlay-view-prefetch" && disk === "throttled" && pattern !== "seq") gbps = Math.min(0.4, gbps * opts.prefetchSpeedup!);
				load.push({
					...base.load[0],
					row,
					pattern,
					temp: "cold",
					disk,
					gbps,
					minGbps: gbps * 0.9,
					maxGbps: gbps * 1.1,
					runs: [{ ...sample(gbps, 0), cgroup: { ios: 300, bytes: disk === "throttled" ? 1 << 30 : 0 } }],
					ratio: 1,
				});
			}
		}
	}
	return {
		...base,
		kind: "volume",
		method: { ...base.method, warmRunsPerRound: 0 },
		prefetch: opts.prefetchSpeedup === undefined ? { available: false, note: "not measured: no --prefetch yet" } : { available: true },
		throttle: { cgroup: "/sys/fs/cgroup/blkio/modelfs-bench-1-throttled", majorMinor: "254:0", readIops: 200, readBps: null, members: ["the loader", "the daemon"] },
		rows: rows.map((id) => ({ id, label: `label of ${id}`, available: id !== "overlay-view-prefetch" || opts.prefetchSpeedup !== undefined })),
		patterns: patterns.map((id) => ({ id, label: `pattern ${id}` })),
		load,
		backend: [],
		memory: [],
		metadata: { files: 0, rows: [] },
	};
}

describe("checkTargets", () => {
	it("meets every target when modelfs reads as fast as direct", () => {
		const checks = checkTargets({ report: fakeReport({ daemon: 0.6, "fuse-native": 0.1 }) });
		expect(checks.length).toBeGreaterThan(10);
		// Prefetch is not there yet: its checks say "not measured" instead of passing.
		const prefetch = checks.filter((c) => c.what.includes("prefetch"));
		expect(prefetch.length).toBeGreaterThan(0);
		expect(prefetch.every((c) => c.ok === null && c.what.endsWith("not measured"))).toBe(true);
		expect(checks.filter((c) => !c.what.includes("prefetch")).every((c) => c.ok === true)).toBe(true);
	});

	it("misses the passthrough target at 0.9 and names the goal", () => {
		const checks = checkTargets({ report: fakeReport({ passthrough: 0.9, daemon: 0.6 }) });
		const pt = checks.filter((c) => c.what.startsWith("view with passthrough, sequential"));
		expect(pt).toHaveLength(2);
		expect(pt.every((c) => c.ok === false && c.measured === 0.9 && c.goal === ">= 0.95")).toBe(true);
		// 0.9 still meets the mmap goal of 0.9
		expect(checks.find((c) => c.what.startsWith("view with passthrough, mmap page walk, cold"))?.ok).toBe(true);
	});

	it("judges daemon-served reads on read patterns only, mmap being the page cache's business", () => {
		const report = fakeReport({ daemon: 0.6 });
		for (const l of report.load) if (l.row === "daemon" && l.pattern === "mmap") l.ratio = 0.1;
		const daemon = checkTargets({ report }).filter((c) => c.what.startsWith("daemon-served"));
		expect(daemon.map((c) => c.ok)).toEqual([true, true]);
		for (const l of report.load) if (l.row === "daemon" && l.pattern === "loader" && l.temp === "warm") l.ratio = 0.4;
		const again = checkTargets({ report }).filter((c) => c.what.startsWith("daemon-served"));
		expect(again.map((c) => c.ok)).toEqual([true, false]);
		expect(again[1].what).toContain("pattern loader");
	});

	it("compares overlay on the view with overlay on the plain folder, not with direct", () => {
		const checks = checkTargets({ report: fakeReport({ "overlay-view": 0.5, "overlay-plain": 0.5, daemon: 0.6 }) });
		expect(checks.filter((c) => c.what.startsWith("overlay on the view / overlay on a plain folder")).every((c) => c.ok === true && c.measured === 1)).toBe(true);
		expect(checks.find((c) => c.what.startsWith("overlay on the view, sequential"))?.ok).toBe(false);
	});

	it("reports a missing fuse-native row with its reason, and unmeasured targets as null", () => {
		const checks = checkTargets({ report: fakeReport({ daemon: 0.6 }, { "fuse-native": "apt-get install libfuse2", daemon: "failed" }) });
		const fn = checks.find((c) => c.what.startsWith("fuse-native"));
		expect(fn?.ok).toBe(false);
		expect(fn?.what).toContain("apt-get install libfuse2");
		expect(checks.filter((c) => c.what.startsWith("daemon-served")).every((c) => c.ok === null && c.measured === null)).toBe(true);
	});
});

describe("checkTargets on the slow volume", () => {
	it("reports the prefetch goals as not measured, with the reason, until the daemon has prefetch", () => {
		const checks = checkTargets({ report: volumeReport({ patternRatio: 0.5 }) });
		expect(checks.length).toBeGreaterThanOrEqual(3);
		expect(checks.every((c) => c.ok === null)).toBe(true);
		expect(checks[0].what).toContain("no --prefetch yet");
	});

	it("judges prefetch against the run without it and against the sequential read of the same path", () => {
		const met = checkTargets({ report: volumeReport({ patternRatio: 0.5, prefetchSpeedup: 2 }) });
		const byGoal = (g: string) => met.filter((c) => c.what.startsWith(g));
		expect(byGoal("throttled disk, backend load")[0]).toMatchObject({ ok: true, measured: 2 });
		expect(byGoal("throttled disk, overlay on the view with prefetch")[0]).toMatchObject({ ok: true, measured: 1 });
		const missed = checkTargets({ report: volumeReport({ patternRatio: 0.5, prefetchSpeedup: 1.2 }) });
		expect(missed.find((c) => c.what.startsWith("throttled disk, backend load"))?.ok).toBe(false);
		expect(missed.find((c) => c.what.startsWith("throttled disk, overlay on the view with prefetch"))?.measured).toBeCloseTo(0.6);
	});
});

describe("formatTables", () => {
	it("says cold means drop_caches, shows the median with min-max beside the device figures, and notes missing prefetch rows", () => {
		const md = formatTables({ report: fakeReport({}) });
		expect(md).toContain("`sync; echo 3 > /proc/sys/vm/drop_caches` before every cold run");
		expect(md).toContain("median of 3 cold and 9 warm runs");
		expect(md).toContain("### Cold runs in detail: speed beside the I/O on vda (254:0)");
		expect(md).toContain("| pattern seq | label of direct | 1.00 (0.90-1.10) | 1.00 | 290 | 1024 | 3.53 | 4.0 |");
		expect(md).toContain("not measured: no --prefetch yet");
		expect(md).toContain("### A backend's load: reading and working");
		expect(md).toContain("| label of direct | 1.50 s | 1.00 s | 0.00 |");
		// backend-io is a part of the split, not a column.
		expect(md).not.toMatch(/\| pattern backend-io \|[^\n]*\| pattern/);
	});

	it("says in the method line when free page reporting to the host was held back, and says nothing when it was not", () => {
		const held = fakeReport({});
		held.method.pageReporting = { minFreeMs: 60000, was: 0 };
		expect(formatTables({ report: held })).toContain("Free page reporting to the host held back 60 s (page_reporting min_free_ms, 0 before the run).");
		expect(formatTables({ report: fakeReport({}) })).not.toContain("page reporting");
	});

	it("puts the plain and the throttled disk side by side, as ratios to the sequential read of the same path", () => {
		const md = formatTables({ report: volumeReport({ patternRatio: 0.5, prefetchSpeedup: 2 }) });
		expect(md).toContain("## modelfs slow-volume bench");
		expect(md).toContain("200 read requests/s on 254:0");
		expect(md).toContain("| label of overlay-view | throttled | 0.40 (1.00) | 0.20 (0.50) | 0.20 (0.50) | 0.20 (0.50) |");
		expect(md).toContain("| label of overlay-view-prefetch | throttled | 0.40 (1.00) | 0.40 (1.00) |");
		expect(md).toMatch(/\| pattern mmap \| label of overlay-view \| throttled \| 0\.20 \(0\.18-0\.22\) \| [^|]+ \| 290 \| 1024 \| 3\.53 \| 4\.0 \| 1024 \|/);
	});

	it("prints GB/s with the ratio for every row and pattern, and the note of a row that did not run", () => {
		const report = fakeReport({ passthrough: 0.97 }, { "fuse-native": "fuse-native needs libfuse.so.2: apt-get install libfuse2" });
		report.targets = checkTargets({ report });
		const md = formatTables({ report });
		expect(md).toContain("| label of passthrough | 0.97 (0.97) |");
		expect(md).toContain("| label of direct | 5.00 (1.00) | 5.00 (1.00) | 5.00 (1.00) | 5.00 (1.00) | 5.00 (1.00) |");
		expect(md).toContain("| label of fuse-native | fuse-native needs libfuse.so.2: apt-get install libfuse2 |");
		expect(md).toMatch(/### Cold page cache[\s\S]*### Warm page cache/);
		expect(md).toContain("| label of daemon | 1.00 GiB | 2.00 | 2.00 |");
		expect(md).toContain("| modelfs view | 120 | 20.0 | 90.0 | 30.0 | 20011 |");
		expect(md).toContain("**missed**");
	});

	it("lists failures so a smoke run that broke says what broke", () => {
		const report = fakeReport({});
		report.failures.push("modelfs view, passthrough, mmap page walk: loadgen exited with 1");
		expect(formatTables({ report })).toContain("### Failures\n\n- modelfs view, passthrough, mmap page walk: loadgen exited with 1");
	});
});

describe("renderChart", () => {
	it("draws one bar per result in a standalone SVG with a legend entry per row", () => {
		const report = fakeReport({ daemon: 0.6, "fuse-native": 0.1 });
		const svg = renderChart({ report });
		expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
		expect(svg.trim().endsWith("</svg>")).toBe(true);
		// backend-io is a part of the backend split, not a bar.
		expect((svg.match(/<rect [^>]*><title>/g) ?? []).length).toBe(report.load.filter((l) => l.pattern !== "backend-io").length);
		for (const row of ROWS) expect(svg).toContain(`>label of ${row}</text>`);
		expect(svg).not.toMatch(/NaN|Infinity/);
	});

	it("switches to a log axis when the fastest bar is over 20 times the slowest", () => {
		expect(renderChart({ report: fakeReport({ "fuse-native": 0.5 }) })).not.toContain("log scale");
		expect(renderChart({ report: fakeReport({ "fuse-native": 0.01 }) })).toContain("log scale");
	});
});
