import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { UsageError } from "../errors.js";
import { createByteProgress } from "../progress/createByteProgress.js";
import { formatBytes } from "../progress/formatBytes.js";
import { mergeScanReports } from "../scan/mergeScanReports.js";
import type { MergedScanReport, ScanReport } from "../scan/ScanTypes.js";
import { scanCaches } from "../scan/scanCaches.js";

interface ScanOptions {
	json?: boolean;
	node?: string;
	merge?: boolean;
	hashUnnamed?: boolean;
	quiet?: boolean;
}

/**
 * `modelfs scan <dir>...`: what the caches on this node hold and what one
 * shared store would hold instead, before adopting modelfs. `--merge` adds
 * up the reports of several nodes.
 */
export function scanCommand(): Command {
	return new Command("scan")
		.description("report what existing model caches hold, what is duplicated, and what one shared store would hold instead (read-only)")
		.argument("<paths...>", "folders to walk (HF caches, backend cache folders, plain model folders); with --merge: report files from `scan --json`")
		.option("--json", "print the report as JSON (the input of --merge)")
		.option("--node <name>", "name of this node in the report (default: the host name)")
		.option("--merge", "merge the JSON reports of several nodes into the cluster view instead of scanning")
		.option("--hash-unnamed", "also hash files without a hub name whose size is unique here, so --merge can match them across nodes (reads them)")
		.option("--quiet", "no progress bar")
		.addHelpText(
			"after",
			"\nNothing is written and nothing is hashed that sizes and hub names already prove: a Hugging Face blob is\n" +
				"named by its sha256 (LFS) or git sha1, so the same name and size is the same content; a file whose size\n" +
				"no other file has is unique. Only files without a hub name that share a size with another file are read.\n" +
				"Hard links count once. modelfs views and symlinks (snapshot links, links into a view) hold no local bytes.\n\n" +
				"Examples:\n" +
				"  modelfs scan ~/spark-vllm-docker/cache ~/sglang/cache /srv/trtllm/models\n" +
				"  modelfs scan /root/.cache --json --node gpu-1 > gpu-1.json\n" +
				"  modelfs scan --merge gpu-1.json gpu-2.json",
		)
		.action(async (paths: string[], opts: ScanOptions) => {
			if (opts.merge) {
				const reports: ScanReport[] = [];
				for (const p of paths) {
					const text = await readFile(p, "utf8").catch((err: NodeJS.ErrnoException) => {
						throw new UsageError("SCAN_BAD_REPORT", `cannot read ${p}: ${err.code ?? err.message}`, { hint: "give files written by `modelfs scan --json`" });
					});
					try {
						reports.push(JSON.parse(text) as ScanReport);
					} catch (err) {
						throw new UsageError("SCAN_BAD_REPORT", `${p} is not JSON`, { cause: err, hint: "give files written by `modelfs scan --json`" });
					}
				}
				const merged = mergeScanReports({ reports, sources: paths });
				if (opts.json) process.stdout.write(`${JSON.stringify(merged, null, 2)}\n`);
				else printMerged(merged);
				return;
			}
			const bar = createByteProgress({ label: "scan (hashing)", total: 0, quiet: opts.quiet });
			let report: ScanReport;
			try {
				report = await scanCaches({ dirs: paths, node: opts.node, hashUnnamed: opts.hashUnnamed, onHash: (n) => bar.increment(n) });
			} finally {
				bar.stop();
			}
			for (const s of report.skipped) process.stderr.write(`modelfs: skipped ${s.path}: ${s.reason}\n`);
			if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
			else printReport(report);
		});
}

function size(n: number): string {
	return formatBytes(n).padStart(10);
}

function copiesWorth(dup: number, unique: number): string {
	return unique > 0 ? ` (${(dup / unique).toFixed(2)} copies' worth)` : "";
}

function printReport(r: ScanReport): void {
	const out: string[] = [];
	out.push(`node ${r.node}: ${r.models.length} ${r.models.length === 1 ? "model" : "models"} in ${r.models.reduce((n, m) => n + m.copies.length, 0)} copies`);
	out.push(`${"MODEL".padEnd(40)} COPIES       HELD     UNIQUE DUPLICATED`);
	for (const m of r.models) {
		out.push(`${m.id.padEnd(40)} ${String(m.copies.length).padStart(6)} ${size(m.heldBytes)} ${size(m.uniqueBytes)} ${size(m.duplicateBytes)}`);
		for (const c of m.copies) {
			const revs = c.revisions.length > 0 ? `, ${c.revisions.map((x) => x.slice(0, 12)).join(" ")}` : "";
			out.push(`  ${c.path}  ${formatBytes(c.heldBytes)} in ${c.files} files (${c.kind}${revs})`);
		}
	}
	const t = r.totals;
	out.push(
		`total: ${formatBytes(t.heldBytes)} held in ${t.files} files; one shared store would hold ${formatBytes(t.uniqueBytes)}; ` +
			`duplicated ${formatBytes(t.duplicateBytes)}${copiesWorth(t.duplicateBytes, t.uniqueBytes)}`,
	);
	out.push(`hashed ${t.hashedFiles} files (${formatBytes(t.hashedBytes)}) to prove identity; ${r.skipped.length} skipped`);
	process.stdout.write(`${out.join("\n")}\n`);
}

function printMerged(r: MergedScanReport): void {
	const out: string[] = [];
	out.push(`${"NODE".padEnd(24)}       HELD     UNIQUE DUPLICATED ON OTHERS`);
	for (const n of r.nodes) out.push(`${n.node.padEnd(24)} ${size(n.heldBytes)} ${size(n.uniqueBytes)} ${size(n.duplicateBytes)} ${size(n.sharedWithOtherNodesBytes)}`);
	out.push(`${"MODEL".padEnd(40)}  NODES       HELD     UNIQUE DUPLICATED ACROSS NODES`);
	for (const m of r.models) {
		out.push(`${m.id.padEnd(40)} ${String(m.nodes.length).padStart(6)} ${size(m.heldBytes)} ${size(m.uniqueBytes)} ${size(m.duplicateBytes)} ${size(m.crossNodeDuplicateBytes)}`);
	}
	const t = r.totals;
	out.push(
		`cluster: ${formatBytes(t.heldBytes)} held on ${r.nodes.length} nodes; one shared store would hold ${formatBytes(t.uniqueBytes)}; ` +
			`duplicated ${formatBytes(t.duplicateBytes)}${copiesWorth(t.duplicateBytes, t.uniqueBytes)}, ${formatBytes(t.crossNodeDuplicateBytes)} of it across nodes`,
	);
	if (t.unprovenBytes > 0)
		out.push(`${formatBytes(t.unprovenBytes)} were not hashed (unique size on their node) and are not matched across nodes; scan with --hash-unnamed to include them`);
	process.stdout.write(`${out.join("\n")}\n`);
}
