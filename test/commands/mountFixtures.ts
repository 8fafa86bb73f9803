import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import { commitSnapshot } from "../../src/store/index/commitSnapshot.js";
import { putFile } from "../../src/store/objects/putFile.js";
import { openStore } from "../../src/store/openStore.js";
import type { SnapshotFile } from "../../src/store/StoreTypes.js";
import { bytes, cleanupMount } from "../native/viewFixtures.js";
import { cliPath, repoRoot } from "../support/runCli.js";

export interface CliStore {
	root: string;
	storeDir: string;
	runRoot: string;
	mnt: string;
	/** repo -> path -> bytes */
	repos: Map<string, Map<string, Buffer>>;
	commits: Map<string, string>;
	/** Environment for runCli: this store and a private runtime root. */
	env: NodeJS.ProcessEnv;
}

/**
 * A real store (through the store's API) with two models sharing a file,
 * an empty mountpoint, and a runtime root of its own; every mount under it
 * is taken down when the test ends.
 */
export async function makeCliStore(): Promise<CliStore> {
	const root = mkdtempSync(join(tmpdir(), "modelfs-cli-mount-"));
	onTestFinished(() => rmSync(root, { recursive: true, force: true }));
	const storeDir = join(root, "store");
	const runRoot = join(root, "run");
	const mnt = join(root, "mnt");
	mkdirSync(mnt);
	onTestFinished(() => cleanupMount(mnt, runRoot));
	const shared = bytes("shared", 300_000);
	const repos = new Map<string, Map<string, Buffer>>([
		[
			"org/alpha",
			new Map([
				["model.safetensors", bytes("alpha", 2_000_003)],
				["config.json", Buffer.from('{"a":1}')],
				["tok/tokenizer.json", shared],
			]),
		],
		[
			"org/beta",
			new Map([
				["model.safetensors", bytes("beta", 1_000_001)],
				["tokenizer.json", shared],
			]),
		],
	]);
	const commits = new Map<string, string>();
	const store = await openStore({ storeDir, create: true, write: true });
	const scratch = join(root, "scratch");
	mkdirSync(scratch);
	try {
		let n = 0;
		for (const [repo, files] of repos) {
			const list: SnapshotFile[] = [];
			for (const [path, content] of files) {
				const p = join(scratch, String(n++));
				writeFileSync(p, content);
				const rec = await putFile({ store, path: p });
				list.push({ path, blake3: rec.blake3, size: rec.size, etag: rec.sha256 });
			}
			const commit = (repo === "org/alpha" ? "a" : "b").repeat(40);
			commits.set(repo, commit);
			await commitSnapshot({ store, snapshot: { repo: { type: "model", name: repo }, commit, files: list }, refs: { main: commit } });
		}
	} finally {
		await store.close();
	}
	return { root, storeDir, runRoot, mnt, repos, commits, env: { MODELFS_STORE: storeDir, MODELFS_RUN_DIR: runRoot } };
}

/** Starts the CLI without waiting for it (for --foreground). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv, extra: { uid?: number; gid?: number } = {}): ChildProcess & { output: () => string } {
	const child = spawn(process.execPath, ["--import", "tsx", cliPath, ...args], {
		cwd: repoRoot,
		env: { ...process.env, ...env },
		stdio: ["ignore", "pipe", "pipe"],
		...extra,
	});
	let out = "";
	child.stdout?.setEncoding("utf8").on("data", (d: string) => (out += d));
	child.stderr?.setEncoding("utf8").on("data", (d: string) => (out += d));
	onTestFinished(() => {
		if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
	});
	return Object.assign(child, { output: () => out });
}
