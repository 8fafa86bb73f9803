import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { BenchSession, CommandOutput } from "./BenchSession.js";

const cliPath = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface RunModelfsParams {
	session: BenchSession;
	/** Arguments after `modelfs`. */
	args: string[];
	/** The store the command works on (passed as MODELFS_STORE). */
	storeDir: string;
}

/** Runs the real `modelfs` CLI from src/ through tsx, as the tests do. */
export function runModelfs(params: RunModelfsParams): Promise<CommandOutput> {
	return params.session.run(process.execPath, ["--import", "tsx", cliPath, ...params.args], {
		cwd: repoRoot,
		env: { ...process.env, MODELFS_STORE: params.storeDir },
	});
}

/** Runs the CLI synchronously: for cleanup steps, which must also work from a signal handler. */
export function runModelfsSync(args: string[], storeDir: string): void {
	spawnSync(process.execPath, ["--import", "tsx", cliPath, ...args], {
		cwd: repoRoot,
		env: { ...process.env, MODELFS_STORE: storeDir },
		stdio: "ignore",
		timeout: 60_000,
	});
}
