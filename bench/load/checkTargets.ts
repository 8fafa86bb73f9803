import type { BenchReport, DiskId, LoadResult, PatternId, RowId, TargetCheck, Temperature } from "./BenchTypes.js";

export interface CheckTargetsParams {
	/** A finished run (load results filled in). */
	report: Pick<BenchReport, "kind" | "load" | "rows" | "patterns" | "prefetch">;
}

const STREAMING: PatternId[] = ["seq", "pread16", "chunks8", "loader"];
const TEMPS: Temperature[] = ["cold", "warm"];

/**
 * The goals, judged on medians measured side by side in the same run.
 * Load bench (issue 7): the view with passthrough and the overlay on it
 * >= 0.95 of direct for sequential and parallel reads, >= 0.9 for the mmap
 * walk; daemon-served reads >= 0.5 (for reads, not mmap); overlay on the
 * view within 5% of overlay on a plain folder; a fuse-native row; and
 * (issue 14) prefetch slows no pattern on the plain disk by more than
 * noise. Volume bench (issue 14): on the throttled disk, the backend load
 * through the overlay on the view >= 1.3x faster with prefetch than
 * without, and with prefetch its mmap walk and header-then-tensors >= 0.9
 * of a sequential read through the same path. A group of patterns is
 * judged by its worst member, named in `what`.
 */
export function checkTargets(params: CheckTargetsParams): TargetCheck[] {
	const { load, rows, patterns, prefetch } = params.report;
	const label = (p: PatternId) => patterns.find((x) => x.id === p)?.label ?? p;
	const find = (row: RowId, pattern: PatternId, temp: Temperature, disk: DiskId = "plain") =>
		load.find((l) => l.row === row && l.pattern === pattern && l.temp === temp && l.disk === disk);
	const ratio = (row: RowId, pattern: PatternId, temp: Temperature) => find(row, pattern, temp)?.ratio ?? null;
	const gbps = (row: RowId, pattern: PatternId, temp: Temperature, disk: DiskId = "plain") => find(row, pattern, temp, disk)?.gbps ?? null;
	const checks: TargetCheck[] = [];
	const worst = (what: string, goal: number, values: Array<{ pattern: PatternId; value: number | null }>) => {
		const known = values.filter((v) => v.value !== null) as Array<{ pattern: PatternId; value: number }>;
		if (known.length < values.length || known.length === 0) {
			checks.push({ what: `${what}: not measured`, measured: null, goal: `>= ${goal}`, ok: null });
			return;
		}
		const w = known.reduce((a, b) => (b.value < a.value ? b : a));
		checks.push({ what: `${what} (worst: ${label(w.pattern)})`, measured: w.value, goal: `>= ${goal}`, ok: w.value >= goal });
	};
	const ofRatio = (a: number | null, b: number | null) => (a !== null && b ? a / b : null);

	if (params.report.kind === "volume") {
		const missing = prefetch.available ? "" : ` (${prefetch.note ?? "no prefetch"})`;
		worst(`throttled disk, backend load through the overlay on the view, with / without prefetch${missing}`, 1.3, [
			{ pattern: "backend", value: ofRatio(gbps("overlay-view-prefetch", "backend", "cold", "throttled"), gbps("overlay-view", "backend", "cold", "throttled")) },
		]);
		worst(
			`throttled disk, overlay on the view with prefetch, mmap walk and header-then-tensors / its sequential read${missing}`,
			0.9,
			(["mmap", "loader"] as PatternId[]).map((p) => ({
				pattern: p,
				value: ofRatio(gbps("overlay-view-prefetch", p, "cold", "throttled"), gbps("overlay-view-prefetch", "seq", "cold", "throttled")),
			})),
		);
		noSlowerWithPrefetch(checks, load, patterns, prefetch.available, "plain", ["cold"]);
		return checks;
	}

	for (const [row, name] of [
		["passthrough", "view with passthrough"],
		["overlay-view", "overlay on the view"],
	] as const) {
		for (const temp of TEMPS) {
			worst(
				`${name}, sequential and parallel reads, ${temp}, ratio to direct`,
				0.95,
				STREAMING.map((p) => ({ pattern: p, value: ratio(row, p, temp) })),
			);
		}
		for (const temp of TEMPS) worst(`${name}, mmap page walk, ${temp}, ratio to direct`, 0.9, [{ pattern: "mmap", value: ratio(row, "mmap", temp) }]);
	}
	for (const temp of TEMPS) {
		worst(
			`daemon-served reads (--no-passthrough), sequential and parallel, ${temp}, ratio to direct`,
			0.5,
			STREAMING.map((p) => ({ pattern: p, value: ratio("daemon", p, temp) })),
		);
	}
	for (const temp of TEMPS) {
		worst(
			`overlay on the view / overlay on a plain folder, ${temp}`,
			0.95,
			[...STREAMING, "mmap" as const].map((p) => ({ pattern: p, value: ofRatio(gbps("overlay-view", p, temp), gbps("overlay-plain", p, temp)) })),
		);
	}
	const fn = rows.find((r) => r.id === "fuse-native");
	checks.push({
		what: fn?.available ? "fuse-native row present (sequential warm, ratio to direct)" : `fuse-native row present: ${fn?.note ?? "not run"}`,
		measured: ratio("fuse-native", "seq", "warm"),
		goal: "present",
		ok: fn?.available ?? false,
	});
	noSlowerWithPrefetch(checks, load, patterns, prefetch.available, "plain", TEMPS);
	return checks;
}

/**
 * Prefetch slows nothing by more than noise: for every pattern, the
 * median with prefetch is at least the slowest run without it (the spread
 * of the runs without prefetch is what noise means here).
 */
function noSlowerWithPrefetch(
	checks: TargetCheck[],
	load: LoadResult[],
	patterns: Array<{ id: PatternId; label: string }>,
	available: boolean,
	disk: DiskId,
	temps: Temperature[],
): void {
	for (const [on, off, name] of [
		["passthrough-prefetch", "passthrough", "view with passthrough"],
		["overlay-view-prefetch", "overlay-view", "overlay on the view"],
	] as const) {
		for (const temp of temps) {
			const what = `${disk} disk, ${name}, ${temp}: with prefetch / the slowest run without, every pattern`;
			const pairs = patterns.map((p) => ({
				p,
				a: load.find((l) => l.row === on && l.pattern === p.id && l.temp === temp && l.disk === disk),
				b: load.find((l) => l.row === off && l.pattern === p.id && l.temp === temp && l.disk === disk),
			}));
			if (!available || pairs.some((x) => !x.a || !x.b)) {
				checks.push({ what: `${what}: not measured`, measured: null, goal: ">= 1", ok: null });
				continue;
			}
			const values = pairs.map((x) => ({ label: x.p.label, value: x.a!.gbps / x.b!.minGbps }));
			const w = values.reduce((a, b) => (b.value < a.value ? b : a));
			checks.push({ what: `${what} (worst: ${w.label})`, measured: w.value, goal: ">= 1", ok: w.value >= 1 });
		}
	}
}
