import { execFile } from "node:child_process";
import { constants } from "node:os";
import { daemonBinaryPath } from "./daemonBinaryPath.js";

export interface ProbeViewParams {
	/** A folder on the view, or on an overlay standing on it (the probe reaches the lower layer). */
	path: string;
	/** How long a daemon may take to answer. @default 2000 */
	timeoutMs?: number;
}

/**
 * `answers`: a lookup reached the filesystem and came back (ENOENT for a
 * name that cannot exist); `dead`: ENOTCONN or ECONNABORTED (the FUSE
 * connection is gone); `hung`: no answer in time (no daemon reads, or it is
 * stopped); `missing`: the path itself is not there; `error`: another errno.
 */
export type ProbeResult = { state: "answers" | "dead" | "hung" | "missing" | "error"; errno: string | null; seconds: number };

/**
 * Whether a fresh lookup answers at `path`: `modelfs-fused probe` looks up
 * a name that cannot exist (so no cached entry answers for the daemon), in
 * a child that is killed after the timeout, so a mount whose daemon is gone
 * or stopped can never hang the caller.
 */
export function probeView(params: ProbeViewParams): Promise<ProbeResult> {
	const timeoutMs = params.timeoutMs ?? 2000;
	const t0 = process.hrtime.bigint();
	const seconds = () => Number(process.hrtime.bigint() - t0) / 1e9;
	return new Promise((resolve) => {
		execFile(daemonBinaryPath(), ["probe", params.path], { timeout: timeoutMs, killSignal: "SIGKILL" }, (err) => {
			if (!err) return resolve({ state: "answers", errno: null, seconds: seconds() });
			const e = err as { code?: unknown; killed?: boolean; signal?: string | null };
			if (e.killed || e.signal === "SIGKILL") return resolve({ state: "hung", errno: null, seconds: seconds() });
			const name = typeof e.code === "number" ? (Object.entries(constants.errno).find(([, n]) => n === e.code)?.[0] ?? `errno ${e.code}`) : String(e.code);
			if (name === "ENOTCONN" || name === "ECONNABORTED") return resolve({ state: "dead", errno: name, seconds: seconds() });
			if (name === "ENOENT" || name === "ENOTDIR") return resolve({ state: "missing", errno: name, seconds: seconds() });
			resolve({ state: "error", errno: name, seconds: seconds() });
		});
	});
}
