import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { collectStatus } from "../../src/node/collectStatus.js";
import { upFromConfig } from "../../src/node/upFromConfig.js";
import { isProcessAlive } from "../../src/system/isProcessAlive.js";
import { canMount } from "../support/canMount.js";
import { runCli } from "../support/runCli.js";
import { addModel, isMountPoint, makeLiveNode, modelPath, startBackend, viewMount, waitFor } from "./liveFixtures.js";

/** mount id of what is mounted at each path (this namespace). */
function mountIds(paths: string[]): string[] {
	return readFileSync("/proc/self/mountinfo", "utf8")
		.split("\n")
		.filter((l) => paths.includes(l.split(" ")[4]))
		.map((l) => `${l.split(" ")[4]}#${l.split(" ")[0]}`)
		.sort();
}

describe.runIf(canMount)("live node: up, status and down with containers", () => {
	it("up with a container on the overlay remounts nothing under it (a new model comes in place) and status names the container", async () => {
		const node = await makeLiveNode({ bigSize: 8 << 20, extra: 1 });
		expect((await runCli(["up", "--config", node.configPath], { env: node.env })).code).toBe(0);
		const backend = await startBackend(node);
		const before = mountIds([node.view, node.target]);
		const m = await addModel(node, "org/during");
		const up = await runCli(["up", "--config", node.configPath], { env: node.env });
		expect(up.code, up.stderr).toBe(0);
		expect(up.stdout).toMatch(/view hf: refreshed in place/);
		expect(up.stdout).toContain("backend vllm: already up");
		expect(mountIds([node.view, node.target])).toEqual(before);
		expect((await backend.want(modelPath(node, m, "model.safetensors"), m.files.get("model.safetensors") as string)).event).toBe("appeared");
		const s = await runCli(["status", "--json"], { env: node.env });
		const st = JSON.parse(s.stdout);
		const b = st.backends.find((x: { name: string }) => x.name === "vllm");
		expect(b.standsOn).toBe("live");
		expect(b.otherNamespaces.flatMap((n: { pids: number[] }) => n.pids)).toContain(backend.pid);
		expect(st.views[0].otherNamespaces.length).toBeGreaterThan(0);
		const text = await runCli(["status"], { env: node.env });
		expect(text.stdout).toMatch(/backend vllm .* stands on the live view/);
		expect(text.stdout).toMatch(/held by pids .* in another mount namespace \(a running container/);
		expect((await runCli(["status", "--require-up"], { env: node.env })).code).toBe(0);
		await backend.stop();
		expect(backend.errors()).toEqual([]);
	});

	it("status --require-up fails on each broken state, and after kill -9 of the holder never says live naming the dead pid", async () => {
		const node = await makeLiveNode({ bigSize: 8 << 20, extra: 1 });
		expect((await upFromConfig({ config: node.config, runRoot: node.runRoot })).failed).toEqual([]);
		const requireUp = (...extra: string[]) => runCli(["status", "--require-up", ...extra], { env: node.env });
		expect((await requireUp()).code).toBe(0);

		// Holder alone killed: the daemon serves and starts a new holder; status never says live with the dead pid.
		const m = await viewMount(node);
		process.kill(m.holderPid as number, "SIGKILL");
		const seen = new Set<string>();
		// Waits (up to ~20 s on a loaded machine) for the daemon's new holder to be ready.
		for (let i = 0; i < 200; i++) {
			if (i > 0) await new Promise((r) => setTimeout(r, 100));
			const v = (await collectStatus({ config: node.config, runRoot: node.runRoot })).views[0];
			if (v.holder.pid === m.holderPid) {
				expect(v.state).not.toBe("live");
				expect(v.holder.alive).toBe(false);
			}
			seen.add(`${v.state}:${v.holder.pid === m.holderPid ? "old" : "new"}`);
			if (v.state === "live" && v.holder.pid !== m.holderPid) break;
		}
		expect(seen.has("live:new")).toBe(true);

		// Stale: the store has a newer catalog than the view shows, for longer than --max-age.
		await addModel(node, "org/unseen");
		await new Promise((r) => setTimeout(r, 2100));
		expect((await requireUp()).code).toBe(0);
		const stale = await requireUp("--max-age", "2s");
		expect(stale.code).toBe(5);
		expect(stale.stderr).toMatch(/view hf \(shows catalog \d+, the store has had \d+ for more than 2 s\)/);
		expect((await runCli(["up"], { env: node.env })).code).toBe(0);
		expect((await requireUp("--max-age", "2s")).code).toBe(0);

		// Every process of the view killed while a container reads: its folder answers ENOTCONN.
		const backend = await startBackend(node);
		const dead = await viewMount(node);
		process.kill(dead.holderPid as number, "SIGKILL");
		process.kill(dead.daemonPid as number, "SIGKILL");
		expect(await waitFor(() => !isProcessAlive(dead.holderPid as number) && !isProcessAlive(dead.daemonPid as number))).toBe(true);
		const r1 = await requireUp();
		expect(r1.code).toBe(5);
		expect(r1.stderr).toMatch(/view hf \(dead\)/);
		expect(r1.stderr).toMatch(/backend vllm \(its overlay stands on a dead view: (ENOTCONN|ECONNABORTED)\)/);

		// up mounts a new view, but the container holds the old overlay: nothing is mounted under it.
		const up = await runCli(["up"], { env: node.env });
		expect(up.code).toBe(5);
		expect(up.stdout).toMatch(new RegExp(`backend vllm: FAILED: .*held by processes in other mount namespaces \\(pids [0-9, ]*${backend.pid}`));
		const st = (await collectStatus({ config: node.config, runRoot: node.runRoot })).backends[0];
		expect(st.standsOn).toBe("replaced");
		expect(st.otherNamespaces.flatMap((n) => n.pids)).toContain(backend.pid);
		const r2 = await requireUp();
		expect(r2.code).toBe(5);
		expect(r2.stderr).toMatch(/backend vllm \(its overlay stands on a replaced view/);
		expect(r2.stderr).not.toMatch(/view hf/);

		// The container goes (it saw ENOTCONN); up redoes the overlay.
		await backend.stop();
		expect(backend.errors().length).toBeGreaterThan(0);
		const up2 = await runCli(["up"], { env: node.env });
		expect(up2.code, up2.stdout + up2.stderr).toBe(0);
		expect((await requireUp()).code).toBe(0);

		// Not mounted at all.
		expect((await runCli(["down"], { env: node.env })).code).toBe(0);
		const r3 = await requireUp();
		expect(r3.code).toBe(5);
		expect(r3.stderr).toContain("not up: view hf (absent), backend vllm");
	});

	it("down and umount with a container still reading: detached here, exit 0, the daemon keeps serving it until it lets go", async () => {
		const node = await makeLiveNode({ bigSize: 8 << 20, extra: 1 });
		expect((await upFromConfig({ config: node.config, runRoot: node.runRoot })).failed).toEqual([]);
		const backend = await startBackend(node);
		const m = await viewMount(node);
		const down = await runCli(["down"], { env: node.env });
		expect(down.code, down.stderr).toBe(0);
		expect(down.stdout).toMatch(/backend vllm: down here; pids [0-9, ]+ in other mount namespaces/);
		expect(down.stdout).toMatch(/view hf: unmounted here; processes in other mount namespaces \(pids [0-9, ]+\) still read through it, and its daemon keeps serving them/);
		expect(down.stdout + down.stderr).not.toMatch(/kill/);
		expect(isMountPoint(node.view) || isMountPoint(node.target)).toBe(false);
		expect(isProcessAlive(m.daemonPid as number)).toBe(true);
		await new Promise((r) => setTimeout(r, 1000));
		const st = await runCli(["status"], { env: node.env });
		expect(st.stdout).toMatch(/detached view .* still serves pids .* in other mount namespaces/);
		// Mounting the view again beside the detached one: the old one's files are its own.
		expect((await runCli(["up"], { env: node.env })).code).toBe(0);
		const again = await viewMount(node);
		expect(again.runtimeDir).not.toBe(m.runtimeDir);
		await new Promise((r) => setTimeout(r, 500));
		const summary = await backend.stop();
		expect(backend.errors()).toEqual([]);
		expect(summary.errors).toBe(0);
		// Once the container let go, the old daemon ends by itself and removes only its own files.
		expect(await waitFor(() => !isProcessAlive(m.daemonPid as number), 15_000)).toBe(true);
		expect((await viewMount(node)).state).toBe("live");
		expect((await runCli(["status", "--require-up"], { env: node.env })).code).toBe(0);
		// umount of the new one with another container: same story.
		const b2 = await startBackend(node, node.view);
		expect((await runCli(["overlay", "down", node.target], { env: node.env })).code).toBe(0);
		const um = await runCli(["umount", node.view], { env: node.env });
		expect(um.code, um.stderr).toBe(0);
		expect(um.stdout).toMatch(/unmounted .* here; processes in other mount namespaces \(pids .*\) still read through it/);
		await b2.stop();
		expect(b2.errors()).toEqual([]);
	});
});
