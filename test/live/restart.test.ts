import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readMountStats } from "../../src/mount/readMountStats.js";
import { restartMount } from "../../src/mount/restartMount.js";
import { upFromConfig } from "../../src/node/upFromConfig.js";
import { isProcessAlive } from "../../src/system/isProcessAlive.js";
import { canMount } from "../support/canMount.js";
import { repoRoot, runCli } from "../support/runCli.js";
import { type Backend, backingIdsSettle, type LiveNode, makeLiveNode, startBackend, tempDirFor, viewMount, waitFor } from "./liveFixtures.js";

/** Times one event (a restart, a kill until the takeover), for the pause figures. */
type Mark = <T>(work: () => Promise<T>) => Promise<T>;

/**
 * Runs `loop` under a fresh backend; then the backend lets go and no
 * backing id may stay open. The pauses are the longest operations the
 * backend saw during the events `loop` marked (CLI runs, which load the
 * two cores for seconds, are left out of them).
 */
async function underReaders(node: LiveNode, loop: (mark: Mark, b: Backend) => Promise<void>): Promise<{ pauseMs: number; openPauseMs: number; opens: number }> {
	const backend = await startBackend(node);
	await new Promise((r) => setTimeout(r, 300));
	const windows: Array<[number, number]> = [];
	const mark: Mark = async (work) => {
		const t0 = Date.now() / 1000;
		try {
			return await work();
		} finally {
			windows.push([t0, Date.now() / 1000]);
		}
	};
	await loop(mark, backend);
	await new Promise((r) => setTimeout(r, 300));
	const summary = await backend.stop();
	expect(backend.errors()).toEqual([]);
	expect(summary.errors).toBe(0);
	expect(await backingIdsSettle((await viewMount(node)).runtimeDir)).toBe(0);
	return {
		pauseMs: Math.max(0, ...windows.map(([a, b]) => backend.maxPauseBetween(a, b))),
		openPauseMs: Math.max(0, ...windows.map(([a, b]) => backend.maxPauseBetween(a, b, "open-read-close"))),
		opens: summary.opens as number,
	};
}

describe.runIf(canMount)("live node: restarts, crashes, upgrades", () => {
	it("50 planned restarts, 20 kill -9 of the daemon, 5 kill -9 of the holder under readers: no error, zero backing ids left after", async () => {
		const node = await makeLiveNode();
		expect((await upFromConfig({ config: node.config, runRoot: node.runRoot })).failed).toEqual([]);
		const runtimeDir = (await viewMount(node)).runtimeDir;

		const restarts = await underReaders(node, async (mark) => {
			for (let i = 0; i < 50; i++) {
				if (i % 25 === 0) {
					const r = await runCli(["restart", node.view], { env: node.env });
					expect(r.code, r.stderr).toBe(0);
					expect(r.stdout).toMatch(/daemon: \d+ -> \d+ .*handed over in/);
				} else {
					const r = await mark(() => restartMount({ runtimeDir, mountpoint: node.view }));
					expect(r.daemon?.resent).toBe(false);
				}
				await new Promise((res) => setTimeout(res, 100));
			}
		});
		let stats = await readMountStats({ runtimeDir });
		expect(stats?.daemonStarts).toBe(51);
		expect(stats?.holderStarts).toBe(51);
		expect(stats?.resentDuplicates).toBe(0);

		const daemonKills = await underReaders(node, async (mark) => {
			for (let i = 0; i < 20; i++) {
				const before = (await readMountStats({ runtimeDir }))?.daemonStarts ?? 0;
				const pid = (await viewMount(node)).daemonPid as number;
				await mark(async () => {
					process.kill(pid, "SIGKILL");
					expect(await waitFor(async () => ((await readMountStats({ runtimeDir }))?.daemonStarts ?? 0) > before, 10_000, 20)).toBe(true);
				});
				await new Promise((r) => setTimeout(r, 150));
			}
		});
		stats = await readMountStats({ runtimeDir });
		expect(stats?.daemonStarts).toBe(71);

		const holderKills = await underReaders(node, async (mark) => {
			for (let i = 0; i < 5; i++) {
				const m = await viewMount(node);
				await mark(async () => {
					process.kill(m.holderPid as number, "SIGKILL");
					expect(await waitFor(async () => (await viewMount(node)).holderPid !== m.holderPid && (await viewMount(node)).state === "live", 10_000, 20)).toBe(true);
				});
				expect(isProcessAlive(m.daemonPid as number)).toBe(true);
				// The new holder answers its control socket.
				const r = await runCli(["status", "--json"], { env: node.env });
				const v = JSON.parse(r.stdout).views.find((x: { mountpoint: string }) => x.mountpoint === node.view);
				expect(v.holder.pid).not.toBe(m.holderPid);
				expect(v.holder.alive).toBe(true);
			}
		});
		stats = await readMountStats({ runtimeDir });
		expect(stats?.holderStarts).toBe(56);
		expect(stats?.daemonStarts).toBe(71);
		console.log(
			`pauses a reader saw during the events (longest op, open+read+close): 48 planned restarts ${restarts.pauseMs.toFixed(1)} / ${restarts.openPauseMs.toFixed(1)} ms; 20 daemon crash takeovers ${daemonKills.pauseMs.toFixed(1)} / ${daemonKills.openPauseMs.toFixed(1)} ms; 5 holder kills ${holderKills.pauseMs.toFixed(1)} / ${holderKills.openPauseMs.toFixed(1)} ms (0: none over 20 ms)`,
		);
	});

	it("upgrades to a modelfs-fused built with another version: picked up by modelfs restart and by the holder's replacement, shown by status", async () => {
		const node = await makeLiveNode({ bigSize: 8 << 20, extra: 1 });
		expect((await upFromConfig({ config: node.config, runRoot: node.runRoot })).failed).toEqual([]);
		const build = tempDirFor(node, "build");
		execFileSync("make", ["-s", "-C", join(repoRoot, "native"), `BUILD=${build}`, "MFS_VERSION=9.9.9-upgrade-test"], { stdio: "ignore" });
		const bin = join(build, "modelfs-fused");
		expect(execFileSync(bin, ["--version"], { encoding: "utf8" })).toBe("modelfs-fused 9.9.9-upgrade-test\n");
		const status = async () => JSON.parse((await runCli(["status", "--json"], { env: node.env })).stdout).views.find((x: { mountpoint: string }) => x.mountpoint === node.view);
		const before = await status();
		expect(before.daemon.version).not.toBe("9.9.9-upgrade-test");
		await underReaders(node, async () => {
			// Only the daemon first: the holder stays the old build.
			const r = await runCli(["restart", node.view, "--only", "daemon"], { env: { ...node.env, MODELFS_FUSED: bin } });
			expect(r.code, r.stderr).toBe(0);
			expect(r.stdout).toContain("9.9.9-upgrade-test");
			const mid = await status();
			expect(mid.daemon.version).toBe("9.9.9-upgrade-test");
			expect(mid.holder.version).toBe(before.holder.version);
			// The holder's replacement after a crash is started by the (new) daemon, from its own binary.
			const m = await viewMount(node);
			process.kill(m.holderPid as number, "SIGKILL");
			expect(await waitFor(async () => (await viewMount(node)).state === "live" && (await viewMount(node)).holderPid !== m.holderPid, 10_000)).toBe(true);
			const after = await status();
			expect(after.holder.version).toBe("9.9.9-upgrade-test");
			expect(after.daemon.version).toBe("9.9.9-upgrade-test");
		});
		const text = (await runCli(["status"], { env: node.env })).stdout;
		expect(text).toMatch(/modelfs-fused 9\.9\.9-upgrade-test/);
	});
});
