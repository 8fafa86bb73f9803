import { Command } from "commander";
import { resolveConfiguredStore } from "../config/resolveConfiguredStore.js";
import { formatBytes } from "../progress/formatBytes.js";
import { resolveSnapshotPaths } from "../residency/resolveSnapshotPaths.js";
import { type FileResidency, runPageCacheTool } from "../residency/runPageCacheTool.js";

interface EvictOptions {
	through?: string;
	store?: string;
	config?: string;
	json?: boolean;
}

/** `modelfs evict <repo>[@rev]`: drop a snapshot's pages from the page cache. */
export function evictCommand(): Command {
	return new Command("evict")
		.description("drop a snapshot's files from the page cache (posix_fadvise DONTNEED on its blobs) once a backend has them in GPU memory")
		.argument("<repo>", "org/name[@revision] (datasets/org/name for a dataset); the revision defaults to main")
		.option("--through <dir>", "also drop the copy a folder shows (a view without passthrough caches its own)")
		.option("--store <dir>", "the store (default: $MODELFS_STORE, else the config file's store, else ~/.local/share/modelfs)")
		.option("--config <file>", "config file to take the store from (default: $MODELFS_CONFIG, else /etc/modelfs/config.yaml)")
		.option("--json", "print the result as JSON")
		.addHelpText(
			"after",
			"\nLoaders leave the whole checkpoint cached after copying it to the GPU. Only clean pages that no process maps\n" +
				"are dropped: a backend that still mmaps the weights keeps them until it unmaps them, and evict says how\n" +
				"much stayed. Nothing is written; the files stay where they are.",
		)
		.action(async (spec: string, opts: EvictOptions) => {
			const storeDir = await resolveConfiguredStore({ store: opts.store, config: opts.config });
			const snap = await resolveSnapshotPaths({ storeDir, spec, through: opts.through });
			const paths = [...snap.entries.map((e) => e.blob), ...(snap.throughDir === null ? [] : snap.entries.map((e) => e.through!))];
			const before = await runPageCacheTool({ mode: "resident", paths });
			const after = await runPageCacheTool({ mode: "evict", paths });
			for (const r of after) if (r.error !== null) process.stderr.write(`modelfs: ${r.path}: ${r.error}\n`);
			const sum = (rs: FileResidency[]) => rs.reduce((n, x) => n + (x.resident ?? 0), 0);
			const result = {
				repo: snap.name,
				type: snap.type,
				commit: snap.commit,
				through: snap.throughDir,
				files: snap.entries.length,
				bytes: snap.bytes,
				residentBefore: sum(before),
				residentAfter: sum(after),
				errors: after.filter((r) => r.error !== null).length,
			};
			if (opts.json) {
				process.stdout.write(`${JSON.stringify(result)}\n`);
				return;
			}
			process.stdout.write(
				`evicted ${snap.name}@${snap.commit}: ${formatBytes(result.residentBefore)} were in the page cache, ${formatBytes(result.residentAfter)} still are (${snap.entries.length} files, ${formatBytes(snap.bytes)})\n`,
			);
			if (result.residentAfter > 0) process.stderr.write("modelfs: pages a process still maps (a loader's mmap) or has dirty stay cached until it lets go of them\n");
		});
}
