import { execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { listModelfsMounts } from "../../src/mount/listModelfsMounts.js";
import { stopMount } from "../../src/mount/stopMount.js";
import { bytes, isMountPoint, tempDir, treeDigest, unmountOnFinish, writeHubCache } from "../overlay/fixtures.js";
import { addRepoToStore } from "../overlay/makeStore.js";
import { canMount } from "../support/canMount.js";
import { cliPath, repoRoot, runCli } from "../support/runCli.js";

const LOADER = fileURLToPath(new URL("../overlay/hf_offline_load.py", import.meta.url));
const FILES = [
	{ path: "config.json", bytes: Buffer.from("{}") },
	{ path: "model.safetensors", bytes: bytes("w", 4 << 20) },
];

/** A store with one model, a config with one view and two backends; cleanup for everything `up` mounts. */
async function setup() {
	const root = realpathSync(tempDir());
	const storeDir = join(root, "store");
	const commit = await addRepoToStore({ storeDir, repo: "org/m", files: FILES });
	const view = join(root, "view");
	const runRoot = join(root, "run");
	const docker = join(root, "spark-vllm-docker", "cache");
	const host = join(root, "hf-hub");
	const config = join(root, "modelfs.yaml");
	writeFileSync(
		config,
		[
			`store: ${storeDir}`,
			`stateDir: ${join(root, "state")}`,
			"views:",
			`  - {name: hf, mountpoint: ${view}}`,
			"backends:",
			`  - {name: vllm, target: ${docker}, prefix: huggingface/hub, create: true}`,
			`  - {name: host, target: ${host}, prefix: "", create: true}`,
			"",
		].join("\n"),
	);
	onTestFinished(async () => {
		if ((await listModelfsMounts({ runRoot })).some((m) => m.mountpoint === view)) await stopMount({ mountpoint: view, runRoot, lazy: true });
	});
	unmountOnFinish(docker);
	unmountOnFinish(host);
	const env = { MODELFS_RUN_DIR: runRoot };
	return { root, storeDir, commit, view, runRoot, docker, host, config, env };
}

function load(hubCache: string): { commit: string; files: Record<string, { size: number }> } {
	return JSON.parse(
		execFileSync("python3", [LOADER, "org/m"], { env: { ...process.env, HF_HUB_CACHE: hubCache, HF_HUB_OFFLINE: "1" }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }),
	);
}

describe.runIf(canMount)("modelfs up", () => {
	it("mounts the view and every backend overlay, is idempotent, and down --restore gives the folders back as they were", async () => {
		const { commit, view, docker, host, config, env } = await setup();
		// The vLLM folder already held a model and a compile cache.
		writeHubCache({ dir: join(docker, "huggingface", "hub"), repo: "old/model", files: [{ path: "w.bin", bytes: bytes("old", 1 << 20) }] });
		mkdirSync(join(docker, "vllm", "torch_compile_cache"), { recursive: true });
		writeFileSync(join(docker, "vllm", "torch_compile_cache", "k.py"), "kernel");
		symlinkSync("vllm", join(docker, "latest"));
		const before = treeDigest(docker);

		const up = await runCli(["up", "--config", config], { env });
		expect(up.code, up.stderr).toBe(0);
		expect(up.stdout).toContain(`view hf: mounted at ${view}`);
		expect(up.stdout).toMatch(/backend vllm: up at .*existing files kept in upper/);
		expect(isMountPoint(docker) && isMountPoint(host)).toBe(true);
		expect(load(join(docker, "huggingface", "hub")).commit).toBe(commit);
		expect(load(host).files["model.safetensors"].size).toBe(4 << 20);
		expect(readFileSync(join(docker, "vllm", "torch_compile_cache", "k.py"), "utf8")).toBe("kernel");

		const again = await runCli(["up", "--config", config], { env });
		expect(again.code, again.stderr).toBe(0);
		expect(again.stdout).toContain("view hf: already mounted");
		expect(again.stdout).toContain("backend vllm: already up");

		const status = await runCli(["status", "--config", config, "--json"], { env });
		expect(status.code, status.stderr).toBe(0);
		const s = JSON.parse(status.stdout);
		// 2 blobs + refs/main (snapshot entries are symlinks).
		expect(s.views[0]).toMatchObject({ name: "hf", mounted: true, state: "live", layout: "hf", files: 3 });
		expect(s.views[0].counters.opens).toBeGreaterThan(0);
		const vllm = s.backends.find((b: { name: string }) => b.name === "vllm");
		expect(vllm).toMatchObject({ mounted: true, lower: view, filesServed: 3 });
		expect(vllm.upperFiles).toBe(Object.values(before).filter((d) => d !== "dir").length);
		expect(vllm.upperBytes).toBeGreaterThan(1 << 20);
		expect((await runCli(["status", "--config", config, "--require-up"], { env })).code).toBe(0);
		const text = await runCli(["status", "--config", config], { env });
		expect(text.stdout).toMatch(/^backend host .* mounted {2}stands on the live view .* lower .*\/view\/huggingface\/hub/m);

		const down = await runCli(["down", "--config", config, "--restore"], { env });
		expect(down.code, down.stderr).toBe(0);
		expect(down.stdout).toContain("view hf: unmounted");
		expect(isMountPoint(docker) || isMountPoint(host) || isMountPoint(view)).toBe(false);
		expect(treeDigest(docker)).toEqual(before);
		const after = await runCli(["status", "--config", config, "--require-up"], { env });
		expect(after.code).toBe(5);
		expect(after.stderr).toContain("not up: view hf (absent), backend vllm, backend host");
	});

	it("rolls out one backend with --only and leaves the view up while another overlay uses it", async () => {
		const { view, docker, host, config, env } = await setup();
		const up = await runCli(["up", "--config", config, "--only", "host"], { env });
		expect(up.code, up.stderr).toBe(0);
		expect(isMountPoint(host)).toBe(true);
		expect(isMountPoint(docker)).toBe(false);
		expect((await runCli(["check", host], { env })).code).toBe(0);
		await runCli(["up", "--config", config], { env });
		const down = await runCli(["down", "--config", config, "--only", "vllm"], { env });
		expect(down.code, down.stderr).toBe(0);
		expect(down.stdout).toContain("view hf: kept (an overlay still uses it)");
		expect(isMountPoint(view) && isMountPoint(host)).toBe(true);
		expect(isMountPoint(docker)).toBe(false);
		expect((await runCli(["down", "--config", config], { env })).code).toBe(0);
		expect(isMountPoint(view)).toBe(false);
	});

	it("stays in the foreground until SIGTERM, then takes the overlays and the view down", async () => {
		const { view, docker, host, config, env } = await setup();
		const child = spawn(process.execPath, ["--import", "tsx", cliPath, "up", "--config", config, "--foreground"], {
			cwd: repoRoot,
			env: { ...process.env, ...env },
			stdio: ["ignore", "pipe", "pipe"],
		});
		let stdout = "";
		child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
		const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
		onTestFinished(() => {
			if (child.exitCode === null) child.kill("SIGKILL");
		});
		for (let i = 0; i < 400 && !stdout.includes("backend host"); i++) await new Promise((r) => setTimeout(r, 50));
		expect(isMountPoint(docker) && isMountPoint(host) && isMountPoint(view)).toBe(true);
		expect(child.exitCode).toBe(null);
		child.kill("SIGTERM");
		expect(await exited).toBe(0);
		expect(isMountPoint(docker) || isMountPoint(host) || isMountPoint(view)).toBe(false);
	});

	it("with --foreground --watch, brings a model another writer ingested to the running view in place", async () => {
		const { storeDir, host, view, config, env } = await setup();
		const child = spawn(process.execPath, ["--import", "tsx", cliPath, "up", "--config", config, "--foreground", "--watch", "1"], {
			cwd: repoRoot,
			env: { ...process.env, ...env },
			stdio: ["ignore", "pipe", "pipe"],
		});
		let out = "";
		child.stdout.on("data", (d: Buffer) => (out += d.toString()));
		child.stderr.on("data", (d: Buffer) => (out += d.toString()));
		const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
		onTestFinished(() => {
			if (child.exitCode === null) child.kill("SIGKILL");
		});
		for (let i = 0; i < 400 && !out.includes("backend host"); i++) await new Promise((r) => setTimeout(r, 50));
		expect(isMountPoint(view)).toBe(true);
		await addRepoToStore({ storeDir, repo: "org/later", files: [{ path: "w.bin", bytes: bytes("later", 5000) }] });
		// Polled on the view, not through the overlay: a name the overlay looks up
		// while it is missing stays missing there (README, "Refresh").
		let seen = false;
		for (let i = 0; i < 200 && !seen; i++) {
			seen = existsSync(join(view, "huggingface", "hub", "models--org--later"));
			if (!seen) await new Promise((r) => setTimeout(r, 100));
		}
		expect(seen, out).toBe(true);
		// The watch logs its line once the refresh call returns, just after the view shows the name.
		for (let i = 0; i < 50 && !out.includes("watch: view at"); i++) await new Promise((r) => setTimeout(r, 100));
		expect(out).toContain("watch: view at");
		expect(
			readFileSync(join(host, "models--org--later", "snapshots", readFileSync(join(host, "models--org--later", "refs", "main"), "utf8"), "w.bin")).equals(bytes("later", 5000)),
		).toBe(true);
		child.kill("SIGTERM");
		expect(await exited).toBe(0);
	});

	it("shows new models after a plain up, which refreshes a stale view in place: no overlay or view is unmounted", async () => {
		const { storeDir, docker, host, view, config, env } = await setup();
		expect((await runCli(["up", "--config", config], { env })).code).toBe(0);
		writeFileSync(join(host, "local.txt"), "written through the overlay");
		const mountIds = () =>
			readFileSync("/proc/self/mountinfo", "utf8")
				.split("\n")
				.filter((l) => [view, docker, host].includes(l.split(" ")[4]))
				.map((l) => l.split(" ")[0])
				.sort();
		const before = mountIds();
		expect(before).toHaveLength(3);
		// A file held open through the overlay across the refresh.
		const held = openSync(join(host, "models--org--m", "snapshots", load(host).commit, "model.safetensors"), "r");
		let closed = false;
		onTestFinished(() => {
			if (!closed) closeSync(held);
		});
		await addRepoToStore({ storeDir, repo: "org/new", files: [{ path: "config.json", bytes: Buffer.from('{"new":true}') }] });
		const stale = JSON.parse((await runCli(["status", "--config", config, "--json"], { env })).stdout);
		expect(stale.views[0].stale).toBe(true);
		expect(stale.views[0].catalogGeneration).toBeLessThan(stale.storeGeneration);
		const r = await runCli(["up", "--config", config], { env });
		expect(r.code, r.stderr).toBe(0);
		expect(r.stdout).toMatch(/view hf: refreshed in place \(catalog \d+ -> \d+, nothing unmounted\)/);
		expect(mountIds()).toEqual(before);
		expect(readFileSync(join(host, "models--org--new", "refs", "main"), "utf8")).toMatch(/^[0-9a-f]{40}$/);
		expect(readFileSync(join(docker, "huggingface", "hub", "models--org--new", "refs", "main"), "utf8")).toMatch(/^[0-9a-f]{40}$/);
		expect(readFileSync(join(host, "local.txt"), "utf8")).toBe("written through the overlay");
		const buf = Buffer.alloc(16);
		expect(readSync(held, buf, 0, 16, 0)).toBe(16);
		const fresh = JSON.parse((await runCli(["status", "--config", config, "--json"], { env })).stdout);
		expect(fresh.views[0].stale).toBe(false);
		expect(fresh.backends.every((b: { mounted: boolean }) => b.mounted)).toBe(true);
		const again = await runCli(["up", "--config", config], { env });
		expect(again.stdout).toContain("view hf: already mounted");
		closeSync(held);
		closed = true;
		expect((await runCli(["down", "--config", config], { env })).code).toBe(0);
	});

	it("after the view's processes are killed, up mounts the view again and redoes the overlays that stood on the dead one", async () => {
		const { view, runRoot, host, config, env } = await setup();
		expect((await runCli(["up", "--config", config], { env })).code).toBe(0);
		const m = (await listModelfsMounts({ runRoot })).find((x) => x.mountpoint === view)!;
		for (const pid of [m.holderPid, m.daemonPid]) if (pid !== null) process.kill(pid, "SIGKILL");
		for (let i = 0; i < 100 && (await listModelfsMounts({ runRoot })).find((x) => x.mountpoint === view)?.state !== "dead"; i++) await new Promise((r) => setTimeout(r, 50));
		expect(() => load(host)).toThrow();
		const r = await runCli(["up", "--config", config], { env });
		expect(r.code, r.stderr).toBe(0);
		expect(r.stderr).toContain("stands on the previous mount");
		expect(load(host).files["model.safetensors"].size).toBe(4 << 20);
		expect((await runCli(["check", host], { env })).code).toBe(0);
		expect((await runCli(["down", "--config", config], { env })).code).toBe(0);
	});

	it("down --materialize leaves real, byte-equal files that load after the view is gone; plain down warns what the folder loses", async () => {
		const { view, docker, host, config, env } = await setup();
		expect((await runCli(["up", "--config", config], { env })).code).toBe(0);
		const mat = await runCli(["down", "--config", config, "--only", "host", "--materialize"], { env });
		expect(mat.code, mat.stderr).toBe(0);
		expect(mat.stdout).toContain("backend host: materialized 3 files"); // two blobs and refs/main
		expect(isMountPoint(host)).toBe(false);
		const plain = await runCli(["down", "--config", config], { env });
		expect(plain.code, plain.stderr).toBe(0);
		expect(plain.stderr).toContain(`modelfs: warning: ${docker} no longer shows the 3 files`);
		expect(isMountPoint(view)).toBe(false);
		// The host folder is a plain Hugging Face cache now: no view, no overlay.
		expect(load(host).files["model.safetensors"].size).toBe(4 << 20);
		expect(
			readFileSync(join(host, "models--org--m", "snapshots", readFileSync(join(host, "models--org--m", "refs", "main"), "utf8"), "model.safetensors")).equals(FILES[1].bytes),
		).toBe(true);
	});

	it("serves Prometheus metrics of its views from the config's metrics: {port, address}", async () => {
		const { view, config, env } = await setup();
		writeFileSync(config, `${readFileSync(config, "utf8")}metrics: {port: 0, address: 127.0.0.1}\n`);
		const up = await runCli(["up", "--config", config, "--json"], { env });
		expect(up.code, up.stderr).toBe(0);
		const port = JSON.parse(up.stdout).metricsPort as number;
		expect(port).toBeGreaterThan(0);
		const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
		expect(text).toContain(`mountpoint="${view}"`);
		expect((await runCli(["down", "--config", config], { env })).code).toBe(0);
		// The side process ends with the views it reports on.
		let gone = false;
		for (let i = 0; i < 50 && !gone; i++) {
			gone = await fetch(`http://127.0.0.1:${port}/metrics`).then(
				() => false,
				() => true,
			);
			if (!gone) await new Promise((r) => setTimeout(r, 100));
		}
		expect(gone).toBe(true);
	});

	it("refuses a backend target that does not exist unless create: true, and mounts nothing on it", async () => {
		const root = realpathSync(tempDir());
		const config = join(root, "modelfs.yaml");
		const typo = join(root, "spark-vllm-dokcer", "cache");
		writeFileSync(config, `store: ${join(root, "store")}\nviews: [{name: hf, mountpoint: ${join(root, "view")}}]\nbackends: [{name: vllm, target: ${typo}}]\n`);
		const env = { MODELFS_RUN_DIR: join(root, "run") };
		onTestFinished(async () => {
			await runCli(["down", "--config", config], { env });
		});
		expect((await runCli(["init", "--store", join(root, "store")])).code).toBe(0);
		const r = await runCli(["up", "--config", config], { env });
		expect(r.code, r.stderr).toBe(2);
		expect(r.stderr).toContain(`vllm (the target ${typo} does not exist)`);
		expect(r.stderr).toContain("create: true");
		expect(existsSync(typo)).toBe(false);
	});

	it("names an unknown --only and a missing config", async () => {
		const root = realpathSync(tempDir());
		const config = join(root, "modelfs.yaml");
		writeFileSync(
			config,
			`store: ${join(root, "store")}\nviews: [{name: hf, mountpoint: ${join(root, "view")}}]\nbackends: [{name: vllm, target: ${join(root, "cache")}, create: true}]\n`,
		);
		const env = { MODELFS_RUN_DIR: join(root, "run") };
		const r = await runCli(["up", "--config", config, "--only", "sglang"], { env });
		expect(r.code).toBe(2);
		expect(r.stderr).toContain("--only sglang");
		const missing = await runCli(["up", "--config", "/nonexistent/modelfs.yaml"], { env });
		expect(missing.code).toBe(2);
		expect(missing.stderr).toContain("does not exist");
	});
});
