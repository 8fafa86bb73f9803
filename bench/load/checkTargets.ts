import type { BenchReport, PatternId, RowId, TargetCheck, Temperature } from "./BenchTypes.js";

export interface CheckTargetsParams {
	/** A finished run (load results filled in). */
	report: Pick<BenchReport, "load" | "rows" | "patterns">;
}

const STREAMING: PatternId[] = ["seq", "pread16", "chunks8", "loader"];
const TEMPS: Temperature[] = ["cold", "warm"];

/**
 * The goals of issue 7, as ratios to the direct read of the same run: the
 * view with passthrough and the overlay on it >= 0.95 for sequential and
 * parallel reads, >= 0.9 for the mmap walk; daemon-served sequential and
 * parallel reads >= 0.5 (issue 6 sets it for reads, not mmap);
 * overlay on the view within 5% of overlay on a plain folder; a fuse-native
 * row. A group of patterns is judged by its worst member, named in `what`.
 */
export function checkTargets(params: CheckTargetsParams): TargetCheck[] {
	const { load, rows, patterns } = params.report;
	const label = (p: PatternId) => patterns.find((x) => x.id === p)?.label ?? p;
	const ratio = (row: RowId, pattern: PatternId, temp: Temperature) => load.find((l) => l.row === row && l.pattern === pattern && l.temp === temp)?.ratio ?? null;
	const gbps = (row: RowId, pattern: PatternId, temp: Temperature) => load.find((l) => l.row === row && l.pattern === pattern && l.temp === temp)?.gbps ?? null;
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
			[...STREAMING, "mmap" as const].map((p) => {
				const a = gbps("overlay-view", p, temp);
				const b = gbps("overlay-plain", p, temp);
				return { pattern: p, value: a !== null && b ? a / b : null };
			}),
		);
	}
	const fn = rows.find((r) => r.id === "fuse-native");
	checks.push({
		what: fn?.available ? "fuse-native row present (sequential warm, ratio to direct)" : `fuse-native row present: ${fn?.note ?? "not run"}`,
		measured: ratio("fuse-native", "seq", "warm"),
		goal: "present",
		ok: fn?.available ?? false,
	});
	return checks;
}
