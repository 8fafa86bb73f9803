import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { basename, join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { daemonBinaryPath } from "../../src/mount/daemonBinaryPath.js";
import { readMountStats } from "../../src/mount/readMountStats.js";
import { isProcessAlive } from "../../src/system/isProcessAlive.js";
import { canMount } from "../support/canMount.js";
import { cliPath, repoRoot, runCli } from "../support/runCli.js";
import { backingIdsSettle, makeLiveNode, startBackend, tempDirFor, viewMount, waitFor } from "./liveFixtures.js";

/** The systemd stand-in (test/support/fdstore-standin.c), compiled for this test. */
function buildStandin(dir: string): string {
	const bin = join(dir, "fdstore-standin");
	execFileSync("cc", ["-O2", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE", "-o", bin, join(repoRoot, "test/support/fdstore-standin.c")]);
	return bin;
}

describe.runIf(canMount)("live node: the fd store (systemd protocol, through a stand-in)", () => {
	it("parks the fds; when every modelfs process is gone the connection lives on; the next service start takes them back; readers only pause", async () => {
		const node = await makeLiveNode({ bigSize: 16 << 20, extra: 2 });
		const dir = tempDirFor(node, "standin");
		const standin = buildStandin(dir);
		const socket = join(dir, "notify.sock");
		const lines: string[] = [];
		const child: ChildProcess = spawn(standin, [socket, "--", process.execPath, "--import", "tsx", cliPath, "up", "--config", node.configPath], {
			cwd: repoRoot,
			env: { ...process.env, ...node.env },
			stdio: ["ignore", "pipe", "inherit"],
		});
		onTestFinished(() => {
			if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
		});
		child.stdout?.setEncoding("utf8").on("data", (d: string) => lines.push(...d.split("\n").filter(Boolean)));
		const started = () => lines.filter((l) => l.startsWith("started ")).map((l) => Number(l.split(" ")[1]));
		const exitedOk = (pid: number) => lines.includes(`exited ${pid} 0`);
		expect(await waitFor(() => started().length === 1 && exitedOk(started()[0]), 60_000)).toBe(true);
		const m = await viewMount(node);
		const name = `modelfs-${basename(m.runtimeDir)}`;
		expect(lines).toContain(`stored ${name} 4`);
		expect((await readMountStats({ runtimeDir: m.runtimeDir }))?.parked).toBe(true);

		const backend = await startBackend(node);
		await new Promise((r) => setTimeout(r, 500));
		// The service stops and its cgroup is killed: every process of ours that holds the fds.
		const t0 = Date.now() / 1000;
		process.kill(m.holderPid as number, "SIGKILL");
		process.kill(m.daemonPid as number, "SIGKILL");
		expect(await waitFor(() => !isProcessAlive(m.holderPid as number) && !isProcessAlive(m.daemonPid as number), 10_000)).toBe(true);
		expect(await waitFor(async () => (await viewMount(node)).state === "parked", 5000)).toBe(true);
		await new Promise((r) => setTimeout(r, 1000));
		// The service starts again: systemd hands it the stored fds (LISTEN_FDS).
		child.kill("SIGUSR1");
		expect(await waitFor(() => started().length === 2 && exitedOk(started()[1]), 60_000)).toBe(true);
		expect(lines.some((l) => l === `started ${started()[1]} 4`)).toBe(true);
		expect(await waitFor(async () => (await viewMount(node)).state === "live", 10_000)).toBe(true);
		const t1 = Date.now() / 1000;
		await new Promise((r) => setTimeout(r, 1000));
		const after = await viewMount(node);
		expect(after.runtimeDir).toBe(m.runtimeDir);
		expect(after.holderPid).not.toBe(m.holderPid);
		const stats = await readMountStats({ runtimeDir: m.runtimeDir });
		expect(stats?.holderStarts).toBe(2);
		expect(stats?.daemonStarts).toBe(2);
		const summary = await backend.stop();
		expect(backend.errors()).toEqual([]);
		expect(summary.errors).toBe(0);
		expect(await backingIdsSettle(m.runtimeDir)).toBe(0);
		// The new holder parked the same fds again: stored once (systemd compares open files).
		const stored = lines.filter((l) => l.startsWith(`stored ${name}`));
		expect(stored[0]).toBe(`stored ${name} 4`);
		expect(stored.length).toBeGreaterThanOrEqual(2);
		expect(stored.slice(1).every((l) => l === `stored ${name} 0`)).toBe(true);
		console.log(
			`fd store round trip: readers paused ${backend.maxPauseBetween(t0, t1).toFixed(0)} ms at most while no modelfs process held the view (kill to the new service's takeover: ${(t1 - t0).toFixed(1)} s), no error`,
		);
		// A clean unmount takes the fds out of the store.
		const down = spawn(process.execPath, ["--import", "tsx", cliPath, "down", "--config", node.configPath], {
			cwd: repoRoot,
			env: { ...process.env, ...node.env },
			stdio: "ignore",
		});
		expect(await new Promise((r) => down.on("close", r))).toBe(0);
		expect(await waitFor(() => lines.includes(`removed ${name}`), 10_000)).toBe(true);
	});

	it("keeps a view through the loss of every modelfs process beside a keeper (a Kubernetes container restart): up takes the fds back from it", async () => {
		const node = await makeLiveNode({ bigSize: 16 << 20, extra: 2 });
		const keeperDir = tempDirFor(node, "keeper");
		const keeper: ChildProcess = spawn(daemonBinaryPath(), ["keep", "--dir", keeperDir], { stdio: ["ignore", "ignore", "pipe"] });
		let keeperLog = "";
		keeper.stderr?.setEncoding("utf8").on("data", (d: string) => (keeperLog += d));
		onTestFinished(() => {
			if (keeper.exitCode === null && keeper.signalCode === null) keeper.kill("SIGTERM");
		});
		expect(await waitFor(() => keeperLog.includes("keeper: listening"), 5000)).toBe(true);
		const env = { ...node.env, MODELFS_FD_KEEPER: keeperDir };
		const up = await runCli(["up"], { env });
		expect(up.code, up.stderr).toBe(0);
		const m = await viewMount(node);
		expect(await waitFor(() => keeperLog.includes(`holding 4 fds as modelfs-${basename(m.runtimeDir)}`), 5000)).toBe(true);
		const backend = await startBackend(node);
		await new Promise((r) => setTimeout(r, 500));
		// The container restarts: its processes die, the keeper (another container or pod) stays.
		const t0 = Date.now() / 1000;
		process.kill(m.holderPid as number, "SIGKILL");
		process.kill(m.daemonPid as number, "SIGKILL");
		expect(await waitFor(async () => (await viewMount(node)).state === "parked", 5000)).toBe(true);
		const again = await runCli(["up"], { env });
		expect(again.code, again.stderr).toBe(0);
		expect(again.stdout).toMatch(/taken back from the keeper/);
		expect(await waitFor(async () => (await viewMount(node)).state === "live", 10_000)).toBe(true);
		const t1 = Date.now() / 1000;
		await new Promise((r) => setTimeout(r, 500));
		const summary = await backend.stop();
		expect(backend.errors()).toEqual([]);
		expect(summary.errors).toBe(0);
		expect(await backingIdsSettle(m.runtimeDir)).toBe(0);
		console.log(`keeper round trip: readers paused ${backend.maxPauseBetween(t0, t1).toFixed(0)} ms at most (kill to takeover ${(t1 - t0).toFixed(1)} s), no error`);
		expect((await runCli(["down"], { env })).code).toBe(0);
		expect(await waitFor(() => keeperLog.includes("FDSTOREREMOVE") || keeperLog.includes("the connection is gone"), 10_000)).toBe(true);
	});
});
