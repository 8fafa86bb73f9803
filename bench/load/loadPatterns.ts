import type { PatternInfo } from "./BenchTypes.js";

/** What loadgen needs to read one row's files. */
export interface PatternTarget {
	/** The weight files as the row reaches them, in load order. */
	files: string[];
	/** The hub cache folder of the model (models--org--name) as the row shows it; absent for the bare blobs. */
	repoDir?: string;
}

/** An access pattern: its table label and the loadgen command line for one row. */
export interface LoadPattern extends PatternInfo {
	args: (target: PatternTarget, verify: boolean) => string[];
	/** Shown as a column of the load tables (backend-io is only a part of the backend split). */
	inTables: boolean;
}

export interface LoadPatternsParams {
	/** Bytes per second of the backend pattern's per-byte work. */
	workRate: number;
}

/**
 * The access patterns of the load bench, as loadgen command lines: the
 * five of issue 7, and a backend's load as vLLM or SGLang run it through
 * safetensors (by the hub path, mmap, each tensor copied out then worked
 * on), with its I/O-only twin for the split.
 */
export function loadPatterns(params: LoadPatternsParams): LoadPattern[] {
	if (!(params.workRate > 0)) throw new TypeError("workRate: expected bytes per second > 0");
	const v = (verify: boolean) => (verify ? "1" : "0");
	const rate = String(params.workRate);
	// The bare blobs have no hub layout around them: the loader is given the shards.
	const source = (t: PatternTarget) => (t.repoDir ? [t.repoDir] : t.files);
	const all: Array<Omit<LoadPattern, "inTables"> & { inTables?: boolean }> = [
		{ id: "seq", label: "1 reader x 16 MiB read", args: (t, x) => ["seq", String(16 << 20), v(x), ...t.files] },
		{ id: "pread16", label: "16 threads x 16 MiB pread", args: (t, x) => ["pread", "16", String(16 << 20), "interleave", v(x), ...t.files] },
		{ id: "chunks8", label: "8 threads x 2 MiB chunks", args: (t, x) => ["pread", "8", String(2 << 20), "ranges", v(x), ...t.files] },
		{ id: "mmap", label: "mmap page walk", args: (t, x) => ["mmap", v(x), ...t.files] },
		{ id: "loader", label: "header, then tensors", args: (t, x) => ["loader", v(x), ...t.files] },
		{ id: "backend", label: "backend load (mmap, copy, work)", args: (t, x) => ["backend", "all", rate, v(x), ...source(t)] },
		{ id: "backend-io", label: "backend load without the work", args: (t, x) => ["backend", "io", rate, v(x), ...source(t)], inTables: false },
	];
	return all.map((p) => ({ ...p, inTables: p.inTables ?? true }));
}
