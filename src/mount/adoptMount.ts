import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { basename, join } from "node:path";
import type { Readable } from "node:stream";
import { MountError } from "../errors.js";
import { readReadyLine } from "../system/readReadyLine.js";
import { daemonBinaryPath } from "./daemonBinaryPath.js";
import type { ModelfsMount } from "./MountTypes.js";

export interface AdoptMountParams {
	/** A mount whose holder and daemon are gone but whose connection an fd store still holds (state `parked`). */
	mount: ModelfsMount;
	/** Its /dev/fuse fds, open in this process (from LISTEN_FDS)... */
	fds?: number[];
	/** ...or the keeper folder that holds them (`modelfs-fused keep --dir`). */
	keeperDir?: string;
	/** Worker threads the daemon had (one per fd), when the fds come from a keeper. @default 4 */
	threads?: number;
	/** @default 30000 */
	timeoutMs?: number;
}

/**
 * Takes a parked connection back: starts a holder in adopt mode (`hold
 * --fuse-fd ...` or `--keeper`), which starts a daemon that sends RESEND,
 * so requests the dead one had read are answered; readers waiting in the
 * meantime only paused. Resolves with the holder's pid. The fds given stay
 * open here (the caller closes its copies).
 */
export async function adoptMount(params: AdoptMountParams): Promise<number> {
	const { mount } = params;
	const fds = params.fds ?? [];
	if (fds.length === 0 && params.keeperDir === undefined) throw new TypeError("adoptMount: give `fds` or `keeperDir`");
	const bin = daemonBinaryPath();
	const name = `modelfs-${basename(mount.runtimeDir)}`;
	const args = ["hold", "--rundir", mount.runtimeDir, "--mountpoint", mount.mountpoint, "--ready-fd", "3"];
	const stdio: Array<"ignore" | "pipe" | number> = ["ignore", 0, 0, "pipe"];
	if (fds.length > 0) {
		args.push("--threads", String(fds.length));
		for (const [i, fd] of fds.entries()) {
			stdio.push(fd);
			args.push("--fuse-fd", String(4 + i));
		}
	} else {
		args.push("--threads", String(params.threads ?? 4), "--keeper", join(params.keeperDir as string, "fds.sock"), "--name", name);
	}
	if (mount.record?.passthroughRequested === false) args.push("--no-passthrough");
	const logPath = join(mount.runtimeDir, "daemon.log");
	const logFd = openSync(logPath, "a", 0o644);
	stdio[1] = logFd;
	stdio[2] = logFd;
	const env: NodeJS.ProcessEnv = { ...process.env };
	const keeper = params.keeperDir ?? process.env.MODELFS_FD_KEEPER;
	if (!env.NOTIFY_SOCKET && keeper) env.NOTIFY_SOCKET = join(keeper, "notify.sock");
	let child: ChildProcess;
	try {
		child = spawn(bin, args, { stdio, cwd: "/", detached: true, env });
	} finally {
		closeSync(logFd);
	}
	const line = await readReadyLine(child.stdio[3] as Readable, params.timeoutMs ?? 30_000);
	if (line === null || !line.startsWith("ok ")) {
		if (child.exitCode === null) child.kill("SIGKILL");
		throw new MountError("MOUNT_DEAD", `could not take back the parked view at ${mount.mountpoint}: ${line ?? "the holder ended"}`, {
			path: mount.mountpoint,
			hint: `look at ${logPath}`,
		});
	}
	child.unref();
	return child.pid as number;
}
