import type { BenchSession } from "./BenchSession.js";

/** The JSON line loadgen prints for a read mode. */
export interface LoadgenRead {
	bytes: number;
	seconds: number;
	/** Set when run with verify = 1. */
	checksum?: string;
	/** Page faults of the loader over the timed part. */
	majflt?: number;
	minflt?: number;
	/** The store device's counters over the timed part (with LOADGEN_DEVSTAT). */
	dev?: { reads: number; merges: number; bytes: number; ms: number };
	/** backend mode: seconds copying tensors out of the mapping, and working on them. */
	copySeconds?: number;
	workSeconds?: number;
}

export interface RunLoadgenParams {
	session: BenchSession;
	/** Path of the compiled loadgen (buildLoadgen). */
	binary: string;
	/** Mode and its arguments, e.g. ["seq", "16777216", "0", ...files]. */
	args: string[];
	/** Lines written to its stdin (the `stat` mode reads paths from there). */
	input?: string;
	/** Added to the environment: LOADGEN_DEVSTAT, LOADGEN_CGROUP (see bench/loadgen.c). @default none */
	env?: Record<string, string>;
}

/** Runs one loadgen mode and parses its JSON line. */
export async function runLoadgen<T = LoadgenRead>(params: RunLoadgenParams): Promise<T> {
	const env = params.env ? { ...process.env, ...params.env } : undefined;
	const { stdout } = await params.session.run(params.binary, params.args, { input: params.input, ...(env ? { env } : {}) });
	const line = stdout.trim().split("\n").pop() ?? "";
	try {
		return JSON.parse(line) as T;
	} catch {
		throw new Error(`loadgen ${params.args[0]} printed no result: ${JSON.stringify(stdout.slice(0, 200))}`);
	}
}
