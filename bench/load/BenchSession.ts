import type { ChildProcess, SpawnOptions } from "node:child_process";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { isMounted } from "./isMounted.js";

/** What a finished child process printed. */
export interface CommandOutput {
	stdout: string;
	stderr: string;
}

/** A command that exited non-zero or was killed. */
export class CommandFailed extends Error {
	readonly stderr: string;
	readonly code: number | null;

	constructor(command: string, code: number | null, signal: NodeJS.Signals | null, stderr: string) {
		super(`${command} ${signal ? `killed by ${signal}` : `exited with ${code}`}${stderr.trim() ? `: ${stderr.trim().split("\n").slice(-3).join(" | ")}` : ""}`);
		this.name = "CommandFailed";
		this.stderr = stderr;
		this.code = code;
	}
}

/**
 * Everything one bench run starts and mounts, so that all of it is undone in
 * reverse order even when a step throws or the user presses Ctrl-C. Undo
 * steps are synchronous (spawnSync, rmSync) so they also run from a signal
 * handler.
 */
export class BenchSession {
	private readonly undo: Array<{ label: string; run: () => void }> = [];
	private readonly children = new Set<ChildProcess>();
	interrupted = false;

	/** Registers an undo step; steps run last-registered first. */
	defer(label: string, run: () => void): void {
		this.undo.push({ label, run });
	}

	/** Runs a command to completion; rejects with CommandFailed on a non-zero exit. */
	run(command: string, args: string[], options: SpawnOptions & { input?: string } = {}): Promise<CommandOutput> {
		return new Promise((resolve, reject) => {
			if (this.interrupted) {
				reject(new Error("interrupted"));
				return;
			}
			const child = spawn(command, args, { ...options, stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
			this.children.add(child);
			let stdout = "";
			let stderr = "";
			child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
			child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
			child.on("error", (err) => {
				this.children.delete(child);
				reject(err);
			});
			child.on("close", (code, signal) => {
				this.children.delete(child);
				if (code === 0) resolve({ stdout, stderr });
				else reject(new CommandFailed([command, ...args.slice(0, 3)].join(" "), code, signal, stderr));
			});
			if (options.input !== undefined) {
				// A child that exits without reading all of its input is reported by its exit code, not EPIPE.
				child.stdin!.on("error", () => {});
				child.stdin!.end(options.input);
			}
		});
	}

	/** Starts a long-lived child (a FUSE server); it is killed at cleanup. */
	start(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
		const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], ...options });
		this.children.add(child);
		child.on("close", () => this.children.delete(child));
		this.defer(`stop ${command} (pid ${child.pid})`, () => stopChild(child));
		return child;
	}

	/**
	 * Unmounts `mountpoint` at cleanup if it is still mounted then. Register
	 * this BEFORE mounting, so a mount interrupted half-way is undone too.
	 */
	deferUnmount(mountpoint: string, unmount?: () => void): void {
		this.defer(`unmount ${mountpoint}`, () => {
			if (!isMounted(mountpoint)) return;
			try {
				unmount?.();
			} catch {
				// fall through to umount(8) below
			}
			for (let i = 0; i < 20 && isMounted(mountpoint); i++) {
				spawnSync("umount", [mountpoint], { stdio: "ignore" });
				if (isMounted(mountpoint)) spawnSync("sleep", ["0.2"]);
			}
			// Still busy (a reader we could not stop): detach it so no mount is left behind.
			if (isMounted(mountpoint)) spawnSync("umount", ["-l", mountpoint], { stdio: "ignore" });
		});
	}

	/** Ctrl-C: stop the children now so the awaited step fails and cleanup runs. */
	interrupt(): void {
		this.interrupted = true;
		for (const child of this.children) child.kill("SIGTERM");
	}

	/** Runs every undo step, last first; reports but survives failures. */
	close(): void {
		while (this.undo.length > 0) {
			const step = this.undo.pop()!;
			try {
				step.run();
			} catch (err) {
				process.stderr.write(`bench: cleanup step "${step.label}" failed: ${(err as Error).message}\n`);
			}
		}
		for (const child of this.children) child.kill("SIGKILL");
	}
}

function stopChild(child: ChildProcess): void {
	if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
	child.kill("SIGTERM");
	for (let i = 0; i < 25; i++) {
		spawnSync("sleep", ["0.1"]);
		if (!isAlive(child.pid)) return;
	}
	child.kill("SIGKILL");
}

/** Alive and not a zombie: Node reaps children only from its event loop, which a sync cleanup does not run. */
function isAlive(pid: number): boolean {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
	} catch {
		return false;
	}
}
