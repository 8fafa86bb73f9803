import type { BenchReport, DiskId, LoadResult, PatternInfo, RowId, RowInfo, Temperature } from "./BenchTypes.js";
import { median } from "./median.js";

export interface FormatTablesParams {
	report: BenchReport;
}

const PREFETCH_ROWS: RowId[] = ["passthrough-prefetch", "overlay-view-prefetch"];

/**
 * The run as markdown, ready to paste into README. Load bench: median
 * GB/s cold and warm with the ratio to direct, the cold runs beside the
 * device I/O they made, the backend load split into reading and working,
 * page cache per byte read, metadata, mount to first byte, targets.
 * Volume bench: the plain and the throttled disk side by side, with the
 * same detail. Rows that need the daemon's prefetch are left out, with one
 * line saying so, until the daemon has it.
 */
export function formatTables(params: FormatTablesParams): string {
	const r = params.report;
	const out: string[] = [];
	const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
	const dev = r.method.device;
	const devName = dev ? `${dev.name} (${dev.majorMinor})` : "the store's device";
	const shown = r.rows.filter((x) => x.available || !PREFETCH_ROWS.includes(x.id));
	const tablePatterns = r.patterns.filter((p) => p.id !== "backend-io");
	const find = (row: RowId, pattern: string, temp: Temperature, disk: DiskId = "plain") =>
		r.load.find((l) => l.row === row && l.pattern === pattern && l.temp === temp && l.disk === disk);
	const rate = r.work ? `${(r.work.rateBytesPerSecond / 1e9).toFixed(1)} GB/s` : "";

	const title = r.kind === "volume" ? "modelfs slow-volume bench" : "modelfs load bench";
	out.push(`## ${title}: ${r.date.slice(0, 16).replace("T", " ")} UTC, ${r.host}, Linux ${r.kernel}, ${r.cores} cores (${r.cpu}), ${gib(r.memBytes)} RAM`, "");
	const runs =
		r.kind === "volume" ? `median of ${r.repeat} cold runs` : `median of ${r.repeat} cold and ${r.repeat * r.method.warmRunsPerRound} warm runs (fuse-native: one of each)`;
	out.push(
		`${gib(r.sizeBytes)} of safetensors data in ${r.weightFiles} shards, the same files through every path. GB/s, ${runs}; ` +
			`${r.kind === "volume" ? "in parentheses the ratio to the sequential read of the same path on the same disk" : "in parentheses the ratio to the direct read's median in the same run"}. ` +
			"**Cold: `sync; echo 3 > /proc/sys/vm/drop_caches` before every cold run** (the page cache of the whole machine, not only of these files)" +
			(r.kind === "volume" ? ". " : "; warm: the runs right after it, same path and pattern. ") +
			"Rows and patterns are interleaved: every round runs every pattern and, within it, every path, each round in another order in which every path takes another place and follows another path (a Williams design). " +
			`Device figures: /sys/block of ${devName}, the store's device, read by the loader around its timed part (whole device: other processes' reads count too).`,
		"",
	);
	if (r.quick) out.push("**--quick run**: tiny files, every byte checksummed on every path. It checks that each row works; its figures are not speed measurements.", "");
	if (r.throttle) {
		const limit = [
			r.throttle.readIops !== null ? `${r.throttle.readIops} read requests/s` : "",
			r.throttle.readBps !== null ? `${(r.throttle.readBps / 1e6).toFixed(0)} MB/s of reads` : "",
		]
			.filter(Boolean)
			.join(" and ");
		out.push(
			`Throttled: the same disk through a cgroup v1 blkio limit of ${limit} on ${r.throttle.majorMinor} (blkio.throttle.read_*_device), ` +
				`holding ${r.throttle.members.join(" and ")}; plain: the same processes in a cgroup without a limit. A stand-in for a shared volume with few or slow requests.` +
				(r.throttle.readAheadKb !== undefined
					? ` read_ahead_kb of the disk: ${r.throttle.readAheadKb}` +
						(r.throttle.readAheadKb !== r.throttle.readAheadKbOfDisk ? ` for the run (\`--read-ahead-kb\`; the disk's own is ${r.throttle.readAheadKbOfDisk})` : "") +
						": a page fault reads ahead this much, so it sets the size of an mmap loader's requests."
					: ""),
			"",
		);
	}
	const prefetchMissing = !r.prefetch.available;

	if (r.kind === "load") {
		for (const temp of ["cold", "warm"] as Temperature[]) {
			out.push(`### ${temp === "cold" ? "Cold" : "Warm"} page cache`, "");
			wideTable(out, shown, tablePatterns, (row, p) => {
				const l = find(row.id, p.id, temp);
				return l ? `${l.gbps.toFixed(2)} (${l.ratio === null ? "-" : l.ratio.toFixed(2)})` : "failed";
			});
			out.push("");
			if (temp === "cold") detailTable(out, r, shown, r.patterns, ["cold"], ["plain"], devName);
		}
	} else {
		out.push(`### Plain disk and throttled disk, cold page cache`, "");
		const seqOf = (l: LoadResult) => find(l.row, "seq", "cold", l.disk);
		out.push(`| path | disk | ${tablePatterns.map((p) => p.label).join(" | ")} |`, `|---|---|${tablePatterns.map(() => "---:").join("|")}|`);
		for (const row of shown) {
			for (const disk of ["plain", "throttled"] as DiskId[]) {
				if (!row.available) {
					if (disk === "plain") out.push(`| ${row.label} | | ${row.note ?? "not available"} |${tablePatterns.map(() => " |").join("")}`);
					continue;
				}
				const cells = tablePatterns.map((p) => {
					const l = find(row.id, p.id, "cold", disk);
					if (!l) return "failed";
					const s = seqOf(l);
					return `${l.gbps.toFixed(2)} (${s ? (l.gbps / s.gbps).toFixed(2) : "-"})`;
				});
				out.push(`| ${row.label} | ${disk} | ${cells.join(" | ")} |`);
			}
		}
		out.push("");
		detailTable(out, r, shown, r.patterns, ["cold"], ["plain", "throttled"], devName);
	}
	if (prefetchMissing) out.push(`- Rows with prefetch (the view, and the overlay on it, mounted with \`--prefetch on\`): ${r.prefetch.note ?? "not measured"}.`);
	for (const n of shown.filter((x) => x.available && x.note)) out.push(`- ${n.label}: ${n.note}`);
	if (r.patterns.some((p) => p.id === "mmap")) {
		out.push(
			"- mmap page walk touches one byte per 4 KiB page, so it measures mapping, not copying. ext4 gives a large mapping a 2 MiB-aligned " +
				"address (its get_unmapped_area); an mmap through overlayfs gets whatever address comes next, so the backing file's large " +
				"folios are mapped with 4 KiB entries instead of 2 MiB ones and the warm walk is several times slower, on the view and on a plain " +
				"folder alike. A loader that copies the bytes out of the mapping (the backend load) barely notices.",
		);
	}
	out.push("");

	if (r.backend.length > 0 && r.work) {
		out.push(
			"### A backend's load: reading and working",
			"",
			"Each shard opened by the path huggingface_hub resolves (`refs/main` -> `snapshots/<commit>/<file>` -> `blobs/`; the direct row is given the blobs), " +
				"mapped, its header read through the map, every tensor copied out of the map in header order (what `safe_open(...).get_tensor` does), " +
				`then worked on at ${rate} before the next one is touched: a hash of every byte, then a spin up to that rate, standing in for the copy to the GPU. ` +
				`Seconds, median. The work alone (no file I/O): ${r.work.aloneSeconds.toFixed(2)} s. Overlap: how much of the shorter part ran under the longer one ` +
				"((I/O alone + work alone - whole load) / the shorter of the two): 0 when reading and working take turns, 1 when one is hidden under the other, " +
				"below 0 when the load took longer than the two one after the other.",
			"",
		);
		const disks: DiskId[] = r.kind === "volume" ? ["plain", "throttled"] : ["plain"];
		const temps: Temperature[] = r.kind === "volume" ? ["cold"] : ["cold", "warm"];
		const head = temps.flatMap((t) => [`${t}: whole load`, `${t}: I/O alone`, `${t}: overlap`]);
		out.push(`| path |${r.kind === "volume" ? " disk |" : ""} ${head.join(" | ")} |`, `|---|${r.kind === "volume" ? "---|" : ""}${head.map(() => "---:").join("|")}|`);
		for (const row of shown.filter((x) => x.available)) {
			for (const disk of disks) {
				const cells = temps.flatMap((t) => {
					const b = r.backend.find((x) => x.row === row.id && x.temp === t && x.disk === disk);
					if (!b) return ["-", "-", "-"];
					return [`${b.totalSeconds.toFixed(2)} s`, `${b.ioSeconds.toFixed(2)} s`, b.overlap === null ? "-" : b.overlap.toFixed(2)];
				});
				out.push(`| ${row.label} |${r.kind === "volume" ? ` ${disk} |` : ""} ${cells.join(" | ")} |`);
			}
		}
		out.push("");
	}

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

	if (r.mount.length > 0 && r.kind === "load") {
		out.push("### Mount to first byte", "", "| what | mount command | first byte | total |", "|---|---:|---:|---:|");
		for (const m of r.mount) out.push(`| ${m.what} | ${m.mountMs.toFixed(0)} ms | ${m.firstByteMs.toFixed(1)} ms | ${m.totalMs.toFixed(0)} ms |`);
		out.push("", "The mount command's time includes starting Node and tsx for the CLI.", "");
	}

	if (r.targets.length > 0) {
		out.push(`### Targets (${r.kind === "volume" ? "issue 14" : "issues 7 and 14"})`, "", "| target | measured | goal | |", "|---|---:|---:|---|");
		for (const t of r.targets) {
			out.push(`| ${t.what} | ${t.measured === null ? "-" : t.measured.toFixed(3)} | ${t.goal} | ${t.ok === null ? "not measured" : t.ok ? "met" : "**missed**"} |`);
		}
		out.push("");
	}
	out.push(
		`Method: ${r.method.cold} before every cold run, ${r.method.statistic} of the runs, ${r.method.order} order; ${r.method.dropSeconds.toFixed(0)} s of the ${r.durationSeconds.toFixed(0)} s run went to sync + drop_caches.${
			r.method.pageReporting
				? ` Free page reporting to the host held back ${r.method.pageReporting.minFreeMs / 1000} s (page_reporting min_free_ms, ${r.method.pageReporting.was} before the run).`
				: ""
		}`,
		"",
	);
	if (r.failures.length > 0) {
		out.push("### Failures", "", ...r.failures.map((w) => `- ${w}`), "");
	}
	if (r.warnings.length > 0) {
		out.push("### Warnings", "", ...r.warnings.map((w) => `- ${w}`), "");
	}
	return out.join("\n");
}

/** One line per path, one column per pattern. */
function wideTable(out: string[], rows: RowInfo[], patterns: PatternInfo[], cell: (row: RowInfo, p: PatternInfo) => string): void {
	out.push(`| path | ${patterns.map((p) => p.label).join(" | ")} |`, `|---|${patterns.map(() => "---:").join("|")}|`);
	for (const row of rows) {
		if (!row.available) {
			out.push(
				`| ${row.label} | ${row.note ?? "not available"} |${patterns
					.slice(1)
					.map(() => " |")
					.join("")}`,
			);
			continue;
		}
		out.push(`| ${row.label} | ${patterns.map((p) => cell(row, p)).join(" | ")} |`);
	}
}

/**
 * One line per pattern, path (and disk): the speed beside the device I/O
 * the runs made, so that paths doing the same I/O can be seen reading at
 * the same speed, and a path that reads more, or in smaller requests, shows.
 */
function detailTable(out: string[], r: BenchReport, rows: RowInfo[], patterns: PatternInfo[], temps: Temperature[], disks: DiskId[], devName: string): void {
	const mib = (b: number) => (b >= 100 * 2 ** 20 ? (b / 2 ** 20).toFixed(0) : (b / 2 ** 20).toFixed(1));
	const volume = disks.includes("throttled");
	out.push(
		`### Cold runs in detail: speed beside the I/O on ${devName}`,
		"",
		"Median GB/s and the slowest-fastest run; per run (median): read requests to the device, MiB read from it, MiB per request; " +
			`major page faults of the loader per GiB read${volume ? "; MiB charged to the cgroup of the loader and the daemon" : ""}. ` +
			"Paths that make the same requests should read at the same speed: a difference between them is the machine's noise, not the path.",
		"",
		`| pattern | path |${volume ? " disk |" : ""} GB/s (min-max) | ratio to direct | requests | MiB read | MiB/request | major faults/GiB |${volume ? " MiB charged |" : ""}`,
		`|---|---|${volume ? "---|" : ""}---:|---:|---:|---:|---:|---:|${volume ? "---:|" : ""}`,
	);
	for (const p of patterns) {
		for (const row of rows.filter((x) => x.available)) {
			for (const disk of disks) {
				for (const temp of temps) {
					const l = r.load.find((x) => x.row === row.id && x.pattern === p.id && x.temp === temp && x.disk === disk);
					if (!l) continue;
					const d = l.device;
					const charged = volume ? ` ${mib(median(l.runs.map((x) => x.cgroup?.bytes ?? 0)))} |` : "";
					out.push(
						`| ${p.label} | ${row.label} |${volume ? ` ${disk} |` : ""} ${l.gbps.toFixed(2)} (${l.minGbps.toFixed(2)}-${l.maxGbps.toFixed(2)}) | ${l.ratio === null ? "-" : l.ratio.toFixed(2)} | ` +
							`${d ? d.requests.toFixed(0) : "-"} | ${d ? mib(d.bytes) : "-"} | ${d ? (d.avgRequestBytes / 2 ** 20).toFixed(2) : "-"} | ${l.majorFaultsPerGiB.toFixed(1)} |${charged}`,
					);
				}
			}
		}
	}
	out.push("");
}
