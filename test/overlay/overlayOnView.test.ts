import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { listModelfsMounts } from "../../src/mount/listModelfsMounts.js";
import { absorbTarget } from "../../src/overlay/absorbTarget.js";
import { checkTarget } from "../../src/overlay/checkTarget.js";
import { listOverlayMounts } from "../../src/overlay/listOverlayMounts.js";
import { measureDir } from "../../src/overlay/measureDir.js";
import { overlayUp } from "../../src/overlay/overlayUp.js";
import { canMount } from "../support/canMount.js";
import { bytes, tempDir, treeDigest, unmountOnFinish, writeHubCache } from "./fixtures.js";
import { addRepoToStore } from "./makeStore.js";
import { mountTestView } from "./mountTestView.js";

const LOADER = fileURLToPath(new URL("./hf_offline_load.py", import.meta.url));
const FLOCK = fileURLToPath(new URL("./hold_flock.py", import.meta.url));

const MODEL_A = [
	{ path: "config.json", bytes: Buffer.from('{"architectures":["Qwen3ForCausalLM"]}') },
	{ path: "model-00001-of-00002.safetensors", bytes: bytes("a1", 6 << 20) },
	{ path: "model-00002-of-00002.safetensors", bytes: bytes("a2", 3 << 20) },
	{ path: "tokenizer.json", bytes: bytes("tok", 200_000) },
	{ path: "onnx/sub/model.onnx", bytes: bytes("onnx", 70_000) },
];
const MODEL_B = [
	{ path: "config.json", bytes: Buffer.from('{"b":1}') },
	{ path: "tokenizer.json", bytes: bytes("tok", 200_000) },
];

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** A real store with two models, its FUSE view (prefix huggingface/hub), and two backend folders. */
async function setup() {
	const root = realpathSync(tempDir());
	const storeDir = join(root, "store");
	const commitA = await addRepoToStore({ storeDir, repo: "org/model-a", files: MODEL_A });
	const commitB = await addRepoToStore({ storeDir, repo: "org/model-b", files: MODEL_B });
	const view = await mountTestView({ root, storeDir, prefix: "huggingface/hub" });
	// A folder mounted at /root/.cache in a container, and a host's HF_HUB_CACHE.
	const dockerCache = join(root, "spark-vllm-docker", "cache");
	const hostHub = join(root, "host", ".cache", "huggingface", "hub");
	mkdirSync(dockerCache, { recursive: true });
	mkdirSync(hostHub, { recursive: true });
	unmountOnFinish(dockerCache);
	unmountOnFinish(hostHub);
	return { root, storeDir, view: view.mountpoint, runRoot: view.runRoot, dockerCache, hostHub, commitA, commitB, stateDir: join(root, "state") };
}

function load(hubCache: string, repo: string): { commit: string; files: Record<string, { sha256: string; size: number; blob: string | null }> } {
	const out = execFileSync("python3", [LOADER, repo], { env: { ...process.env, HF_HUB_CACHE: hubCache, HF_HUB_OFFLINE: "1" }, encoding: "utf8" });
	return JSON.parse(out);
}

function expectLoaded(loaded: ReturnType<typeof load>, commit: string, files: typeof MODEL_A): void {
	expect(loaded.commit).toBe(commit);
	expect(Object.keys(loaded.files).sort()).toEqual(files.map((f) => f.path).sort());
	for (const f of files) {
		expect(loaded.files[f.path], f.path).toEqual({ sha256: sha256(f.bytes), size: f.bytes.length, blob: sha256(f.bytes) });
	}
}

describe.runIf(canMount)("overlayUp on the FUSE view", () => {
	it("lets an offline loader resolve each model by repo id alone and read every file byte-equal, writing nothing", async () => {
		const { view, dockerCache, commitA, commitB, stateDir } = await setup();
		const up = await overlayUp({ target: dockerCache, lower: view, stateDir });
		const hub = join(dockerCache, "huggingface", "hub");
		expectLoaded(load(hub, "org/model-a"), commitA, MODEL_A);
		expectLoaded(load(hub, "org/model-b"), commitB, MODEL_B);
		expect(readdirSync(up.upper)).toEqual([]);
	});

	it("serves two backends from one view: the container-style folder and a host HF_HUB_CACHE", async () => {
		const { view, runRoot, dockerCache, hostHub, commitA, stateDir } = await setup();
		await overlayUp({ target: dockerCache, lower: view, stateDir });
		await overlayUp({ target: hostHub, lower: join(view, "huggingface", "hub"), stateDir });
		expectLoaded(load(join(dockerCache, "huggingface", "hub"), "org/model-a"), commitA, MODEL_A);
		expectLoaded(load(hostHub, "org/model-a"), commitA, MODEL_A);
		expect((await listModelfsMounts({ runRoot })).filter((m) => m.mountpoint === view)).toHaveLength(1);
		const lowers = (await listOverlayMounts()).filter((o) => o.target === dockerCache || o.target === hostHub).map((o) => o.lower[0]);
		expect(lowers.sort()).toEqual([view, join(view, "huggingface", "hub")].sort());
	});

	it("sends locks, .incomplete, .no_exist, trees and compile caches to upper; the view stays read-only and unchanged", async () => {
		const { view, dockerCache, commitA, stateDir } = await setup();
		const before = treeDigest(view);
		const up = await overlayUp({ target: dockerCache, lower: view, stateDir });
		const hub = join(dockerCache, "huggingface", "hub");
		const repo = join(hub, "models--org--model-a");
		mkdirSync(join(hub, ".locks", "models--org--model-a"), { recursive: true });
		writeFileSync(join(hub, ".locks", "models--org--model-a", `${"e".repeat(64)}.lock`), "");
		writeFileSync(join(repo, "blobs", `${"e".repeat(64)}.incomplete`), bytes("partial", 100_000));
		mkdirSync(join(repo, ".no_exist", commitA), { recursive: true });
		writeFileSync(join(repo, ".no_exist", commitA, "generation_config.json"), "");
		mkdirSync(join(repo, "trees"), { recursive: true });
		writeFileSync(join(repo, "trees", `${commitA}.json`), "[]");
		// vLLM's compile cache under the same /root/.cache.
		mkdirSync(join(dockerCache, "vllm", "torch_compile_cache", "abc", "rank_0"), { recursive: true });
		writeFileSync(join(dockerCache, "vllm", "torch_compile_cache", "abc", "rank_0", "graph.py"), bytes("graph", 30_000));
		expect(() => writeFileSync(join(view, "huggingface", "hub", "x"), "")).toThrow(/EROFS|read-only/);
		expect(treeDigest(view)).toEqual(before);
		const upper = treeDigest(up.upper);
		expect(Object.keys(upper)).toEqual(
			expect.arrayContaining([
				`huggingface/hub/.locks/models--org--model-a/${"e".repeat(64)}.lock`,
				`huggingface/hub/models--org--model-a/blobs/${"e".repeat(64)}.incomplete`,
				`huggingface/hub/models--org--model-a/.no_exist/${commitA}/generation_config.json`,
				`huggingface/hub/models--org--model-a/trees/${commitA}.json`,
				"vllm/torch_compile_cache/abc/rank_0/graph.py",
			]),
		);
		// Only folders on the way to the new files were made in upper: no model file was copied up.
		expect(Object.entries(upper).filter(([, d]) => d.startsWith("file:")).length).toBe(5);
	});

	it("makes an fcntl lock taken through the overlay exclude a second process", async () => {
		const { view, hostHub, stateDir } = await setup();
		await overlayUp({ target: hostHub, lower: join(view, "huggingface", "hub"), stateDir });
		const lock = join(hostHub, ".locks", "models--org--model-a", "w.lock");
		mkdirSync(join(lock, ".."), { recursive: true });
		const holder = spawn("python3", [FLOCK, lock], { stdio: ["pipe", "pipe", "inherit"] });
		try {
			await new Promise<void>((resolve, reject) => {
				holder.stdout.on("data", (d: Buffer) => d.toString().includes("locked") && resolve());
				holder.on("error", reject);
			});
			expect(tryLock(lock)).toBe(1);
		} finally {
			holder.stdin.end();
			await new Promise((r) => holder.on("close", r));
		}
		expect(tryLock(lock)).toBe(0);
	});

	it("passes modelfs check, then fails it once a file in upper shadows a view file with other bytes", async () => {
		const { view, dockerCache, commitA, stateDir } = await setup();
		await overlayUp({ target: dockerCache, lower: view, stateDir });
		const ok = await checkTarget({ target: dockerCache });
		expect(ok.problems).toEqual([]);
		expect(ok.files).toBeGreaterThan(MODEL_A.length + MODEL_B.length);
		writeFileSync(join(dockerCache, "huggingface", "hub", "models--org--model-a", "snapshots", commitA, "config.json"), "{}");
		const bad = await checkTarget({ target: dockerCache });
		expect(bad.problems.map((p) => p.path)).toContain(`huggingface/hub/models--org--model-a/blobs/${sha256(MODEL_A[0].bytes)}`);
	});

	it("absorbs a backend's old copy of a model: the upper layer gives the bytes back, the loader still reads them", async () => {
		const { storeDir, view, hostHub, commitA, stateDir } = await setup();
		writeHubCache({ dir: hostHub, repo: "org/model-a", files: MODEL_A, commit: commitA });
		writeFileSync(join(hostHub, "keep-me.txt"), "local only");
		const up = await overlayUp({ target: hostHub, lower: join(view, "huggingface", "hub"), stateDir });
		const before = (await measureDir({ dir: up.upper }))!;
		const r = await absorbTarget({ target: hostHub, storeDir, stateDir });
		const modelBytes = MODEL_A.reduce((n, f) => n + f.bytes.length, 0);
		expect(r.freedBytes).toBe(modelBytes);
		const after = (await measureDir({ dir: up.upper }))!;
		expect(before.bytes - after.bytes).toBeGreaterThanOrEqual(modelBytes);
		expectLoaded(load(hostHub, "org/model-a"), commitA, MODEL_A);
		expect(statSync(join(up.upper, "keep-me.txt")).size).toBe(10);
		expect((await checkTarget({ target: hostHub })).problems).toEqual([]);
		expect(existsSync(join(up.upper, "models--org--model-a", "blobs", sha256(MODEL_A[1].bytes)))).toBe(false);
	});
});

function tryLock(path: string): number {
	try {
		execFileSync("python3", [FLOCK, "--try", path]);
		return 0;
	} catch (err) {
		return (err as { status: number }).status;
	}
}
