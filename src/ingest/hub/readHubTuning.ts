import { UsageError } from "../../errors.js";
import type { RetryPolicy } from "./withRetries.js";

export interface ReadHubTuningParams {
	/** Where the MODELFS_HUB_* variables are read. @default process.env */
	env?: NodeJS.ProcessEnv;
}

/** Timeouts and sizes of hub requests; what is not set is left to ingestRepo's defaults. */
export interface HubTuning {
	/** MODELFS_HUB_CONNECT_TIMEOUT_MS. */
	connectTimeoutMs?: number;
	/** MODELFS_HUB_IDLE_TIMEOUT_MS. */
	idleTimeoutMs?: number;
	/** MODELFS_HUB_PART_SIZE. */
	partSize?: number;
	/** MODELFS_HUB_RETRY_BASE_MS. */
	retry?: RetryPolicy;
}

/**
 * The MODELFS_HUB_* tuning variables, read once for `ingest` and `sync`
 * alike: tests shorten timeouts and backoff with them, and a slow link may
 * need longer ones. A value that is not a positive number is a usage error
 * naming the variable.
 */
export function readHubTuning(params: ReadHubTuningParams = {}): HubTuning {
	const env = params.env ?? process.env;
	const baseDelayMs = envNumber(env, "MODELFS_HUB_RETRY_BASE_MS", true);
	return {
		connectTimeoutMs: envNumber(env, "MODELFS_HUB_CONNECT_TIMEOUT_MS", false),
		idleTimeoutMs: envNumber(env, "MODELFS_HUB_IDLE_TIMEOUT_MS", false),
		partSize: envNumber(env, "MODELFS_HUB_PART_SIZE", false),
		retry: baseDelayMs === undefined ? undefined : { baseDelayMs },
	};
}

function envNumber(env: NodeJS.ProcessEnv, name: string, zeroOk: boolean): number | undefined {
	const v = env[name];
	if (v === undefined || v === "") return undefined;
	const n = Number(v);
	if (!Number.isFinite(n) || n < 0 || (n === 0 && !zeroOk)) {
		throw new UsageError("ENV_INVALID", `${name} must be a ${zeroOk ? "non-negative" : "positive"} number, got ${JSON.stringify(v)}`);
	}
	return n;
}
