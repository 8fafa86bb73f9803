import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const cliPath = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));

export interface CliResult {
	code: number | null;
	signal: NodeJS.Signals | null;
	stdout: string;
	stderr: string;
}

export interface RunCliOptions {
	env?: NodeJS.ProcessEnv;
	cwd?: string;
	input?: string;
	/** Kill the process after this many ms. @default 120000 */
	timeoutMs?: number;
}

/**
 * Runs the real `modelfs` CLI (from src/, through tsx) as a child process and
 * collects its output. Tests use this rather than calling commands in-process
 * so exit codes, stdout/stderr separation and signals are the real ones.
 */
export function runCli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, ["--import", "tsx", cliPath, ...args], {
			cwd: options.cwd ?? repoRoot,
			env: { ...process.env, ...options.env },
			stdio: ["pipe", "pipe", "pipe"],
		});
		let stdout = "";
		let stderr = "";
		child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
		child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
		const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
		child.on("error", reject);
		child.on("close", (code, signal) => {
			clearTimeout(timer);
			resolve({ code, signal, stdout, stderr });
		});
		child.stdin.end(options.input ?? "");
	});
}

export { cliPath, repoRoot };
