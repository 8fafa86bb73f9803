import type { BenchReport, Temperature } from "./BenchTypes.js";

export interface FormatTablesParams {
	report: BenchReport;
}

/**
 * The run as markdown, ready to paste into README: load throughput cold and
 * warm (GB/s and ratio to direct), page cache per byte read, metadata,
 * mount to first byte, and the targets of issue 7 with met / missed.
 */
export function formatTables(params: FormatTablesParams): string {
	const r = params.report;
	const out: string[] = [];
	const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
	out.push(
		`## modelfs load bench: ${r.date.slice(0, 16).replace("T", " ")} UTC, ${r.host}, Linux ${r.kernel}, ${r.cores} cores (${r.cpu}), ${gib(r.memBytes)} RAM`,
		"",
		`${gib(r.sizeBytes)} of safetensors data in ${r.weightFiles} shards, the same files through every path; ` +
			`GB/s (ratio to the direct read of the same run), best of ${r.repeat} cold and ${3 * r.repeat} warm runs (fuse-native: one of each; ` +
			"other jobs on the machine only ever slow a run down, so the best run is the closest to what each path can do). " +
			"Cold: page cache of the blob, the plain copy and the FUSE files dropped with posix_fadvise(DONTNEED) before the run " +
			"(every file was read once before, so caches below this machine, such as a VM host's, are in the same state for every row).",
		"",
	);
	if (r.quick) {
		out.push("**--quick run**: tiny files, every byte checksummed on every path. It checks that each row works; its figures are not speed measurements.", "");
	}
	for (const temp of ["cold", "warm"] as Temperature[]) {
		out.push(`### ${temp === "cold" ? "Cold" : "Warm"} page cache`, "");
		out.push(`| path | ${r.patterns.map((p) => p.label).join(" | ")} |`);
		out.push(`|---|${r.patterns.map(() => "---:").join("|")}|`);
		for (const row of r.rows) {
			if (!row.available) {
				out.push(
					`| ${row.label} | ${row.note ?? "not available"} |${r.patterns
						.slice(1)
						.map(() => " |")
						.join("")}`,
				);
				continue;
			}
			const cells = r.patterns.map((p) => {
				const l = r.load.find((x) => x.row === row.id && x.pattern === p.id && x.temp === temp);
				if (!l) return "failed";
				return `${l.gbps.toFixed(2)} (${l.ratio === null ? "-" : l.ratio.toFixed(2)})`;
			});
			out.push(`| ${row.label} | ${cells.join(" | ")} |`);
		}
		out.push("");
	}
	for (const n of r.rows.filter((x) => x.available && x.note)) out.push(`- ${n.label}: ${n.note}`);
	if (r.patterns.some((p) => p.id === "mmap")) {
		out.push(
			"- mmap page walk touches one byte per 4 KiB page, so it measures mapping, not copying. ext4 gives a large mapping a 2 MiB-aligned " +
				"address (its get_unmapped_area); an mmap through overlayfs gets whatever address comes next, so the backing file's large " +
				"folios are mapped with 4 KiB entries instead of 2 MiB ones and the walk is several times slower, on the view and on a plain " +
				"folder alike. A loader that copies the bytes out of the mapping barely notices (measured by hand: 5.4-5.6 vs 5.5-5.9 GB/s); " +
				"one that passes a 2 MiB-aligned address hint gets the direct speed back.",
		);
	}
	out.push("");

	if (r.memory.length > 0) {
		out.push(
			"### Page cache held per byte read",
			"",
			"After one cold sequential read of every shard. mincore: pages of the blob, the plain copy and the daemon-served view file " +
				"(passthrough and overlays use one of those; fuse-native drops its own on every open). meminfo: growth of `Cached` (whole machine).",
			"",
			"| path | bytes read | mincore | meminfo |",
			"|---|---:|---:|---:|",
		);
		for (const m of r.memory) {
			const label = r.rows.find((x) => x.id === m.row)?.label ?? m.row;
			out.push(`| ${label} | ${gib(m.bytesRead)} | ${m.perByteMincore.toFixed(2)} | ${m.perByteMeminfo.toFixed(2)} |`);
		}
		out.push("");
	}

	if (r.metadata.rows.length > 0) {
		const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
		out.push(
			`### Metadata: ${r.metadata.files.toLocaleString("en-US")} files`,
			"",
			"stat(2) of every file by its snapshot path (follows the symlink to blobs/), then a readdir + lstat walk of the whole tree; first pass after mounting, then again. Milliseconds.",
			"",
			"| path | stat, first | stat, again | walk, first | walk, again | entries walked |",
			"|---|---:|---:|---:|---:|---:|",
		);
		for (const m of r.metadata.rows) {
			out.push(`| ${m.label} | ${ms(m.statFirstMs)} | ${ms(m.statAgainMs)} | ${ms(m.walkFirstMs)} | ${ms(m.walkAgainMs)} | ${m.walkEntries} |`);
		}
		out.push("");
	}

	if (r.mount.length > 0) {
		out.push("### Mount to first byte", "", "| what | mount command | first byte | total |", "|---|---:|---:|---:|");
		for (const m of r.mount) out.push(`| ${m.what} | ${m.mountMs.toFixed(0)} ms | ${m.firstByteMs.toFixed(1)} ms | ${m.totalMs.toFixed(0)} ms |`);
		out.push("", "The mount command's time includes starting Node and tsx for the CLI.", "");
	}

	if (r.targets.length > 0) {
		out.push("### Targets (issue 7)", "", "| target | measured | goal | |", "|---|---:|---:|---|");
		for (const t of r.targets) {
			out.push(`| ${t.what} | ${t.measured === null ? "-" : t.measured.toFixed(3)} | ${t.goal} | ${t.ok === null ? "not measured" : t.ok ? "met" : "**missed**"} |`);
		}
		out.push("");
	}
	if (r.failures.length > 0) {
		out.push("### Failures", "", ...r.failures.map((w) => `- ${w}`), "");
	}
	if (r.warnings.length > 0) {
		out.push("### Warnings", "", ...r.warnings.map((w) => `- ${w}`), "");
	}
	return out.join("\n");
}
