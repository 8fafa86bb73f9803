import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from "vitest";
import { readCatalog } from "../../../src/store/catalog/readCatalog.js";
import { canMount } from "../../support/canMount.js";
import type { RunningHubEmulator } from "../../support/hub-emulator/index.js";
import { startHubEmulator } from "../../support/hub-emulator/index.js";
import { cliPath, repoRoot, runCli } from "../../support/runCli.js";

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
const REPO = "org/big-model";
const FILE = "model-00001-of-00001.safetensors";

let emu: RunningHubEmulator;
let tmp: string;
let storeDir: string;
let sha256: string;

beforeEach(async () => {
	tmp = await mkdtemp(join(tmpdir(), "modelfs-ingest-resume-"));
	storeDir = join(tmp, "store");
	emu = await startHubEmulator({});
	await emu.hub.commit({ repo: REPO, files: { [FILE]: { generate: { seed: "resume", size: SIZE } }, "config.json": "{}\n" } });
	sha256 = emu.hub.file({ repo: REPO, path: FILE })!.sha256;
});
afterEach(async () => {
	await emu.close();
	await rm(tmp, { recursive: true, force: true });
});

const env = (): NodeJS.ProcessEnv => ({
	...process.env,
	HF_ENDPOINT: emu.url,
	HF_TOKEN: "",
	MODELFS_HUB_RETRY_BASE_MS: "10",
	// One request for the whole file: the written prefix is then exactly what arrived.
	MODELFS_HUB_PART_SIZE: String(256 * MiB),
});

/** Starts `modelfs ingest`, waits until the emulator has served `bytes` of the big file, then sends `signal`. */
async function interruptAfter(bytes: number, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
	const child = spawn(process.execPath, ["--import", "tsx", cliPath, "ingest", REPO, "--store", storeDir], { cwd: repoRoot, env: env(), stdio: ["ignore", "pipe", "pipe"] });
	onTestFinished(() => {
		if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
	});
	let stderr = "";
	child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
	child.stdout.resume();
	const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("close", (code, sig) => resolve({ code, signal: sig })));
	const deadline = Date.now() + 90_000;
	while (emu.hub.bytesServed({ repo: REPO, path: FILE }) < bytes) {
		if (child.exitCode !== null || Date.now() > deadline) throw new Error(`ingest ended or stalled before ${bytes} bytes were served: ${stderr}`);
		await new Promise((r) => setTimeout(r, 20));
	}
	child.kill(signal);
	return { ...(await closed), stderr };
}

async function partialSize(): Promise<number> {
	const st = await stat(join(storeDir, "tmp", `partial-${sha256}`)).catch(() => null);
	return st?.size ?? 0;
}

describe("ingestCommand resume", () => {
	it("continues a download killed with SIGKILL from where it stopped, not from zero", async () => {
		emu.hub.setFault({ kind: "slow", match: FILE, bytesPerSecond: 16 * MiB });
		const killed = await interruptAfter(24 * MiB, "SIGKILL");
		expect(killed.signal).toBe("SIGKILL");
		const kept = await partialSize();
		expect(kept).toBeGreaterThan(8 * MiB);
		expect(await readCatalog({ storeDir }).then((c) => c?.repos.find((r) => r.name === REPO) ?? null)).toBeNull();
		// The dry run sees what the next run will continue from.
		const dry = await runCli(["ingest", REPO, "--store", storeDir, "--dry-run", "--json"], { env: env() });
		expect(JSON.parse(dry.stdout)).toMatchObject({ partialBytes: kept });

		emu.hub.clearFaults();
		emu.hub.resetCounters();
		const again = await runCli(["ingest", REPO, "--store", storeDir, "--json"], { env: env() });
		expect(again.code).toBe(0);
		const s = JSON.parse(again.stdout);
		expect(s.resumedBytes).toBe(kept);
		const served = emu.hub.bytesServed({ repo: REPO, path: FILE });
		expect(served).toBe(SIZE - kept);
		expect(served).toBeLessThan(SIZE * 0.9);
		expect(emu.hub.requests.some((r) => r.range === `bytes=${kept}-${SIZE - 1}`)).toBe(true);
		const cat = await readCatalog({ storeDir });
		expect(cat!.repos.find((r) => r.name === REPO)!.snapshots[0].files.find((f) => f.path === FILE)!.size).toBe(SIZE);
		expect(await readdir(join(storeDir, "tmp"))).not.toContain(`partial-${sha256}`);
	});

	it("stops on SIGINT with exit 130, keeps the partial file, and the next run resumes it", async () => {
		emu.hub.setFault({ kind: "slow", match: FILE, bytesPerSecond: 16 * MiB });
		const stopped = await interruptAfter(12 * MiB, "SIGINT");
		expect(stopped.code).toBe(130);
		expect(stopped.stderr).toMatch(/interrupted: finished files and partial downloads are kept/);
		const kept = await partialSize();
		expect(kept).toBeGreaterThan(0);
		emu.hub.clearFaults();
		emu.hub.resetCounters();
		const again = await runCli(["ingest", REPO, "--store", storeDir, "--json"], { env: env() });
		expect(again.code).toBe(0);
		expect(JSON.parse(again.stdout).resumedBytes).toBe(kept);
		expect(emu.hub.bytesServed({ repo: REPO, path: FILE })).toBe(SIZE - kept);
	});
});

describe.runIf(canMount)("ingestCommand on a full disk", () => {
	// tmpfs takes buffered writes; on ext4 the blob goes out with O_DIRECT.
	it.each(["tmpfs", "ext4"])("fails with a store error, keeps no partial blob in the index and commits nothing (%s)", async (fs) => {
		const mnt = await mkdtemp(join(tmpdir(), "modelfs-ingest-full-"));
		onTestFinished(() => rm(mnt, { recursive: true, force: true }));
		if (fs === "tmpfs") execFileSync("mount", ["-t", "tmpfs", "-o", "size=24m", "tmpfs", mnt]);
		else {
			const image = `${mnt}.img`;
			onTestFinished(() => rm(image, { force: true }));
			execFileSync("truncate", ["-s", "32m", image]);
			execFileSync("mkfs.ext4", ["-q", "-F", image]);
			execFileSync("mount", ["-o", "loop", image, mnt]);
		}
		onTestFinished(() => {
			execFileSync("umount", [mnt]);
		});
		const small = join(mnt, "store");
		const r = await runCli(["ingest", REPO, "--store", small], { env: env() });
		expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toMatchObject({ code: 4, stderr: expect.stringMatching(/no space left in the store/) });
		// Only modelfs's own lines: no raw LMDB or Node error before them.
		expect(r.stderr).not.toMatch(/Input\/output error|MDB_|^\s+at /m);
		const cat = await readCatalog({ storeDir: small });
		expect(cat?.repos.find((x) => x.name === REPO) ?? null).toBeNull();
		// Nothing partial is left to fill the disk.
		expect(await readdir(join(small, "tmp"))).toEqual([]);
	});
});
