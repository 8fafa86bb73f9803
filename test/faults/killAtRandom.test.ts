import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from "vitest";
import { readCatalog } from "../../src/store/catalog/readCatalog.js";
import { bytes, tempDir, writeHubCache } from "../overlay/fixtures.js";
import { type RunningHubEmulator, startHubEmulator } from "../support/hub-emulator/index.js";
import { cliPath, repoRoot, runCli } from "../support/runCli.js";

const MiB = 1024 * 1024;
const REPO = "org/killed";
const SHARDS = 6;
const SHARD = 8 * MiB;
const KILLS = 4;

/**
 * The kill points are random, so every run tries others; the seed is in the
 * test's output, and MODELFS_FAULT_SEED replays a failing run.
 */
const SEED = Number(process.env.MODELFS_FAULT_SEED ?? Date.now() % 1_000_000);
function prng(seed: number): () => number {
	let s = seed >>> 0 || 1;
	return () => {
		s ^= s << 13;
		s ^= s >>> 17;
		s ^= s << 5;
		return (s >>> 0) / 2 ** 32;
	};
}

/** path -> inode of every object file: an object written again gets a new inode (tmp, then rename). */
function objectInodes(storeDir: string): Map<string, number> {
	const out = new Map<string, number>();
	const root = join(storeDir, "objects");
	if (!existsSync(root)) return out;
	for (const d of readdirSync(root, { withFileTypes: true }))
		if (d.isDirectory()) for (const f of readdirSync(join(root, d.name))) out.set(`${d.name}/${f}`, statSync(join(root, d.name, f)).ino);
	return out;
}

function start(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; closed: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
	const child = spawn(process.execPath, ["--import", "tsx", cliPath, ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
	onTestFinished(() => {
		if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
	});
	let stderr = "";
	child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
	child.stdout!.resume();
	const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
		child.on("close", (code, signal) => resolve({ code, signal, stderr })),
	);
	return { child, closed };
}

/** The store after a kill: every command that reads it works and verify finds nothing wrong. */
async function expectConsistent(storeDir: string, env: NodeJS.ProcessEnv, when: string): Promise<void> {
	// Killed before it made the store (a loaded machine starts the CLI slowly): a store is made whole
	// or not at all (createStoreDir), so there is nothing to check, and the next run makes it.
	if (!existsSync(storeDir)) return;
	const ls = await runCli(["ls", "--store", storeDir, "--json"], { env });
	expect({ when, code: ls.code, stderr: ls.stderr }).toMatchObject({ code: 0 });
	JSON.parse(ls.stdout);
	const verify = await runCli(["verify", "--store", storeDir], { env });
	expect({ when, code: verify.code, out: verify.stdout + verify.stderr }).toMatchObject({ code: 0 });
}

describe(`kill -9 at random points (seed ${SEED}, MODELFS_FAULT_SEED replays it)`, () => {
	let emu: RunningHubEmulator;
	beforeEach(async () => {
		emu = await startHubEmulator({});
	});
	afterEach(async () => {
		await emu.close();
	});

	it("ingest: the store stays consistent after every kill, and the run that completes fetches only what was not stored yet", async () => {
		const random = prng(SEED);
		const files: Record<string, { generate: { seed: string; size: number } } | string> = { "config.json": "{}\n" };
		for (let i = 1; i <= SHARDS; i++) files[`model-0000${i}-of-0000${SHARDS}.safetensors`] = { generate: { seed: `kill-${i}`, size: SHARD } };
		await emu.hub.commit({ repo: REPO, files });
		const storeDir = join(realpathSync(tempDir("modelfs-kill-ingest-")), "store");
		// Slow enough that a kill lands in the middle of the downloads, the hashing or the commit.
		emu.hub.setFault({ kind: "slow", match: ".safetensors", bytesPerSecond: 48 * MiB });
		const env = { HF_ENDPOINT: emu.url, HF_TOKEN: "", MODELFS_HUB_RETRY_BASE_MS: "10" };
		const total = SHARDS * SHARD + 3;
		const fullSeconds = total / (48 * MiB);
		for (let k = 0; k < KILLS; k++) {
			const { child, closed } = start(["ingest", REPO, "--store", storeDir], env);
			const after = Math.round((0.3 + random() * fullSeconds) * 1000);
			await new Promise((r) => setTimeout(r, after));
			child.kill("SIGKILL");
			const end = await closed;
			// A run that finished before its kill is fine too; one that failed is not.
			expect({ kill: k, after, code: end.code, stderr: end.stderr }).toMatchObject(end.signal === "SIGKILL" ? {} : { code: 0 });
			await expectConsistent(storeDir, env, `after kill ${k + 1} at ${after} ms`);
		}
		const plan = JSON.parse((await runCli(["ingest", REPO, "--store", storeDir, "--dry-run", "--json"], { env })).stdout);
		const before = objectInodes(storeDir);
		emu.hub.clearFaults();
		emu.hub.resetCounters();
		const done = await runCli(["ingest", REPO, "--store", storeDir, "--json"], { env });
		expect({ code: done.code, stderr: done.stderr }).toMatchObject({ code: 0 });
		let served = 0;
		for (const path of Object.keys(files)) served += emu.hub.bytesServed({ repo: REPO, path });
		// Nothing it already had, in the store or as a partial download, was fetched again.
		expect(served).toBe(plan.downloadBytes - plan.partialBytes);
		for (const [name, ino] of before) expect({ name, ino: objectInodes(storeDir).get(name) }).toEqual({ name, ino });
		const repo = (await readCatalog({ storeDir }))!.repos.find((r) => r.name === REPO)!;
		expect(repo.snapshots[0].files).toHaveLength(SHARDS + 1);
		await expectConsistent(storeDir, env, "after the completing run");
	});

	it("import: the store stays consistent after every kill, and the run that completes copies only what was not stored yet", async () => {
		const random = prng(SEED + 1);
		const root = realpathSync(tempDir("modelfs-kill-import-"));
		const cache = join(root, "hub");
		const shards = Array.from({ length: SHARDS }, (_, i) => ({ path: `model-0000${i + 1}.safetensors`, bytes: bytes(`import-kill-${i}`, 2 * SHARD) }));
		writeHubCache({ dir: cache, repo: REPO, files: [...shards, { path: "config.json", bytes: Buffer.from("{}\n") }] });
		const storeDir = join(root, "store");
		// How long a whole import takes here, to spread the kills over it.
		const probeStore = join(root, "probe");
		const t0 = Date.now();
		expect((await runCli(["import", cache, "--store", probeStore])).code).toBe(0);
		const fullMs = Date.now() - t0;
		for (let k = 0; k < KILLS; k++) {
			const { child, closed } = start(["import", cache, "--store", storeDir], {});
			const after = Math.round(200 + random() * fullMs);
			await new Promise((r) => setTimeout(r, after));
			child.kill("SIGKILL");
			const end = await closed;
			expect({ kill: k, after, code: end.code, stderr: end.stderr }).toMatchObject(end.signal === "SIGKILL" ? {} : { code: 0 });
			await expectConsistent(storeDir, {}, `after kill ${k + 1} at ${after} ms`);
		}
		const before = objectInodes(storeDir);
		const done = await runCli(["import", cache, "--store", storeDir, "--json"]);
		expect({ code: done.code, stderr: done.stderr }).toMatchObject({ code: 0 });
		const report = JSON.parse(done.stdout);
		const totalBytes = shards.reduce((a, s) => a + s.bytes.length, 3);
		expect(report.bytesCopied + report.bytesDeduplicated).toBe(totalBytes);
		// Every object a killed run had finished is kept as it was, not copied again.
		for (const [name, ino] of before) expect({ name, ino: objectInodes(storeDir).get(name) }).toEqual({ name, ino });
		const keptBytes = [...before.keys()].reduce((a, name) => a + statSync(join(storeDir, "objects", name)).size, 0);
		expect(report.bytesCopied).toBeLessThanOrEqual(totalBytes - keptBytes);
		expect((await readCatalog({ storeDir }))!.repos.find((r) => r.name === REPO)!.snapshots[0].files).toHaveLength(SHARDS + 1);
		await expectConsistent(storeDir, {}, "after the completing run");
	});
});
