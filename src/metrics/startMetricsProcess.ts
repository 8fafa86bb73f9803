import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { dirname, extname, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { MountError } from "../errors.js";
import { readReadyLine } from "../system/readReadyLine.js";

export interface StartMetricsProcessParams {
	/** TCP port; 0 picks a free one. */
	port: number;
	/** The address to listen on. @default "0.0.0.0" */
	address?: string;
	/** The view it reports on. */
	mountpoint: string;
	/** More views it reports on as well (`modelfs up` serves every configured view on one port). @default [] */
	moreMountpoints?: string[];
	/** The mount's holder: the metrics process ends when it is gone. */
	holderPid: number;
	/** The mount's runtime folder (`metrics.pid` goes there). */
	runtimeDir: string;
	/** @default $MODELFS_RUN_DIR, else /run/modelfs */
	runRoot: string | undefined;
	/** The mount's daemon.log, which also takes this process's output. */
	logPath: string;
	/** How long to wait for its ready line. */
	timeoutMs: number;
}

/**
 * A small detached Node process serving /metrics for one mount (or several);
 * it ends by itself when no holder of them is left. Resolves with the bound port.
 */
export async function startMetricsProcess(p: StartMetricsProcessParams): Promise<number> {
	const here = fileURLToPath(import.meta.url);
	const script = join(dirname(here), `metricsMain${extname(here)}`);
	const packageRoot = resolve(dirname(here), "..", "..");
	const loader = extname(here) === ".ts" ? ["--import", "tsx"] : [];
	const args = [...loader, script, "--port", String(p.port), "--mountpoint", p.mountpoint, "--holder-pid", String(p.holderPid)];
	for (const m of p.moreMountpoints ?? []) args.push("--mountpoint", m);
	if (p.runRoot) args.push("--run-root", p.runRoot);
	if (p.address) args.push("--address", p.address);
	const logFd = openSync(p.logPath, "a", 0o644);
	let child: ChildProcess;
	try {
		child = spawn(process.execPath, args, { stdio: ["ignore", logFd, logFd, "pipe"], cwd: packageRoot, detached: true });
	} finally {
		closeSync(logFd);
	}
	const line = await readReadyLine(child.stdio[3] as Readable, p.timeoutMs);
	const m = line ? /^ok (\d+)$/.exec(line) : null;
	if (!m) {
		if (child.exitCode === null) child.kill("SIGKILL");
		throw new MountError(
			"MOUNT_METRICS",
			`the view at ${p.mountpoint} is mounted, but metrics cannot be served on port ${p.port}: ${line?.replace(/^err /, "") ?? "the metrics process ended"}`,
			{
				path: p.mountpoint,
				hint: `choose a free port, or unmount (modelfs umount ${p.mountpoint}) and mount without --metrics-port`,
			},
		);
	}
	await writeFile(join(p.runtimeDir, "metrics.pid"), `${child.pid}\n`);
	child.unref();
	return Number(m[1]);
}
