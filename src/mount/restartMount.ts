import { MountError } from "../errors.js";
import { daemonBinaryPath } from "./daemonBinaryPath.js";
import { sendControl } from "./sendControl.js";

export interface RestartMountParams {
	/** The mount instance's runtime folder (listModelfsMounts gives it). */
	runtimeDir: string;
	/** Named in messages. */
	mountpoint: string;
	/** Start a new daemon, which takes over the live connection. @default true */
	daemon?: boolean;
	/** Replace the holder by a new process, which takes every fd over. @default true */
	holder?: boolean;
	/** The `modelfs-fused` to start them from. @default daemonBinaryPath() ($MODELFS_FUSED, else this package's build) */
	binary?: string;
}

export interface RestartedMount {
	mountpoint: string;
	/** The new daemon and what it runs, when the daemon was restarted. */
	daemon: { pid: number; previousPid: number; version: string; handoverSeconds: number; resent: boolean } | null;
	/** The new holder, when it was replaced. */
	holder: { pid: number; previousPid: number } | null;
}

/**
 * A planned restart (or upgrade: a new `modelfs-fused` build) of a live
 * view, with no unmount and no error for readers: a new daemon prepares,
 * starts reading, then the old one stops, finishes the requests it holds
 * and exits (native/HOLDER.md, "Planned restart"); then the holder hands
 * its fds to a new holder over a Unix socket and exits.
 */
export async function restartMount(params: RestartMountParams): Promise<RestartedMount> {
	if (typeof params?.runtimeDir !== "string" || params.runtimeDir === "") throw new TypeError("restartMount: `runtimeDir` is required");
	const binary = params.binary ?? daemonBinaryPath();
	const out: RestartedMount = { mountpoint: params.mountpoint, daemon: null, holder: null };
	const fail = (what: string, code: string | null, message: string) =>
		new MountError("RESTART_FAILED", `the ${what} of ${params.mountpoint} was not restarted: ${code ?? ""} ${message}`.replace(/ {2,}/g, " "), {
			path: params.mountpoint,
			hint: `the running one keeps serving; look at ${params.runtimeDir}/daemon.log`,
		});
	if (params.daemon !== false) {
		const r = await sendControl({ runtimeDir: params.runtimeDir, request: `restart-daemon ${binary}`, timeoutMs: 120_000 });
		if (!r.ok) throw fail("daemon", r.code, r.message);
		const d = r.data ?? {};
		out.daemon = {
			pid: Number(d.daemonPid),
			previousPid: Number(d.previousPid),
			version: String(d.daemonVersion ?? ""),
			handoverSeconds: Number(d.handoverUs ?? 0) / 1e6,
			resent: d.resent === true,
		};
	}
	if (params.holder !== false) {
		const r = await sendControl({ runtimeDir: params.runtimeDir, request: `restart-holder ${binary}`, timeoutMs: 60_000 });
		if (!r.ok) throw fail("holder", r.code, r.message);
		out.holder = { pid: Number(r.data?.holderPid), previousPid: Number(r.data?.previousPid) };
	}
	return out;
}
