import type { BenchSession } from "./BenchSession.js";

/** The JSON line loadgen prints for a read mode. */
export interface LoadgenRead {
	bytes: number;
	seconds: number;
	/** Set when run with verify = 1. */
	checksum?: string;
}

export interface RunLoadgenParams {
	session: BenchSession;
	/** Path of the compiled loadgen (buildLoadgen). */
	binary: string;
	/** Mode and its arguments, e.g. ["seq", "16777216", "0", ...files]. */
	args: string[];
	/** Lines written to its stdin (the `stat` mode reads paths from there). */
	input?: string;
}

/** Runs one loadgen mode and parses its JSON line. */
export async function runLoadgen<T = LoadgenRead>(params: RunLoadgenParams): Promise<T> {
	const { stdout } = await params.session.run(params.binary, params.args, { input: params.input });
	const line = stdout.trim().split("\n").pop() ?? "";
	try {
		return JSON.parse(line) as T;
	} catch {
		throw new Error(`loadgen ${params.args[0]} printed no result: ${JSON.stringify(stdout.slice(0, 200))}`);
	}
}
