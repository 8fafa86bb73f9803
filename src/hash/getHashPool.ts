import { HashPool } from "./HashPool.js";

let shared: HashPool | null = null;

/** The process-wide pool (one worker per core, created on first use). */
export function getHashPool(): HashPool {
	shared ??= new HashPool();
	return shared;
}
