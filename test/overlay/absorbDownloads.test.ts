import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { refreshStoreViews } from "../../src/node/refreshStoreViews.js";
import { absorbTarget } from "../../src/overlay/absorbTarget.js";
import { checkTarget } from "../../src/overlay/checkTarget.js";
import { overlayUp } from "../../src/overlay/overlayUp.js";
import { readCatalog } from "../../src/store/catalog/readCatalog.js";
import { canMount } from "../support/canMount.js";
import { startHubEmulator } from "../support/hub-emulator/index.js";
import { runCli } from "../support/runCli.js";
import { bytes, isMountPoint, tempDir, treeDigest, unmountOnFinish } from "./fixtures.js";
import { addRepoToStore } from "./makeStore.js";
import { mountTestView } from "./mountTestView.js";

const DOWNLOADER = fileURLToPath(new URL("./hf_download.py", import.meta.url));
const LOADER = fileURLToPath(new URL("./hf_offline_load.py", import.meta.url));
/** The real huggingface_hub when this machine has it; else hf_download.py, which does what it does step for step. */
const realHub = spawnSync("python3", ["-c", "import huggingface_hub"]).status === 0;

const STORED = [{ path: "config.json", bytes: Buffer.from('{"a":1}') }];
const NEW = {
	"config.json": Buffer.from('{"architectures":["LlamaForCausalLM"]}'),
	"model-00001-of-00002.safetensors": bytes("n1", 4 << 20),
	"model-00002-of-00002.safetensors": bytes("n2", 2 << 20),
	"model.safetensors.index.json": Buffer.from(JSON.stringify({ weight_map: { "a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors" } })),
	"tokenizer.json": bytes("tok", 150_000),
};
const NEW_BYTES = Object.values(NEW).reduce((n, b) => n + b.length, 0);
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/**
 * A backend process downloading `repo` through its cache folder, in a mount
 * namespace of its own (as in a container). Asynchronous: the hub emulator
 * answers from this process. Resolves with the exit code.
 */
function download(hub: string, endpoint: string, repo: string, extra: string[] = []): Promise<number> {
	// The fault flags (an interrupted download, some files only) are the emulating script's.
	const args =
		realHub && extra.length === 0
			? ["-c", "import sys; from huggingface_hub import snapshot_download; snapshot_download(sys.argv[1], endpoint=sys.argv[2])", repo, endpoint]
			: [DOWNLOADER, endpoint, repo, ...extra];
	const child = spawn("unshare", ["-m", "--propagation", "private", "python3", ...args], {
		env: { ...process.env, HF_HUB_CACHE: hub, HF_ENDPOINT: endpoint, HF_HUB_DISABLE_TELEMETRY: "1", HF_HUB_ENABLE_HF_TRANSFER: "0" },
		stdio: ["ignore", "ignore", "pipe"],
	});
	let stderr = "";
	child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
	const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
	return new Promise((resolve, reject) => {
		child.on("error", reject);
		child.on("close", (code) => {
			clearTimeout(timer);
			if (code !== 0 && extra.length === 0) reject(new Error(`download of ${repo} failed (${code}): ${stderr}`));
			else resolve(code ?? -1);
		});
	});
}

function load(hub: string, repo: string) {
	const out = execFileSync("unshare", ["-m", "--propagation", "private", "python3", LOADER, repo], {
		env: { ...process.env, HF_HUB_CACHE: hub, HF_HUB_OFFLINE: "1" },
		encoding: "utf8",
	});
	return JSON.parse(out) as { commit: string; files: Record<string, { sha256: string; size: number }> };
}

/** A store with one model, its view (prefix huggingface/hub), a backend folder with an overlay on it, and a hub that serves a model the store lacks. */
async function setup() {
	const root = realpathSync(tempDir());
	const storeDir = join(root, "store");
	await addRepoToStore({ storeDir, repo: "org/stored", files: STORED });
	const emulator = await startHubEmulator();
	onTestFinished(() => emulator.close());
	const commit = await emulator.hub.commit({ repo: "meta/new-model", files: NEW });
	const view = await mountTestView({ root, storeDir, prefix: "huggingface/hub" });
	const target = join(root, "spark-vllm-docker", "cache");
	mkdirSync(target, { recursive: true });
	unmountOnFinish(target);
	const stateDir = join(root, "state");
	const up = await overlayUp({ target, lower: view.mountpoint, stateDir });
	const hub = join(target, "huggingface", "hub");
	/** What `modelfs refresh` does: the live view switches to the newest catalog in place, the overlay stays. */
	const refresh = async () => {
		await refreshStoreViews({ storeDir, runRoot: view.runRoot });
	};
	return { root, storeDir, emulator, commit, target, stateDir, upper: up.upper, hub, refresh, runRoot: view.runRoot };
}

describe.runIf(canMount)(`absorbTarget with a backend's own download (${realHub ? "real huggingface_hub" : "huggingface_hub's steps, emulated"})`, () => {
	it("imports a model the backend downloaded through the overlay into the store and, once the view shows it, frees it locally", async () => {
		const { storeDir, emulator, commit, target, stateDir, upper, hub, refresh } = await setup();
		await download(hub, emulator.url, "meta/new-model");
		const repoUpper = join(upper, "huggingface", "hub", "models--meta--new-model");
		expect(readdirSync(join(repoUpper, "blobs")).sort()).toHaveLength(5);
		expect(readFileSync(join(repoUpper, "refs", "main"), "utf8")).toBe(commit);

		const r = await absorbTarget({ target, storeDir, stateDir });
		expect(r.imported).toEqual([{ path: "huggingface/hub/models--meta--new-model", type: "model", name: "meta/new-model", commit, files: 5, bytes: NEW_BYTES, refs: ["main"] }]);
		expect(r.notImported).toEqual([]);
		// The view was built before the import: nothing can go yet, and absorb says why.
		expect(r.awaitingRefresh).toEqual([`meta/new-model@${commit}`]);
		expect(r.freedBytes).toBe(0);
		const catalog = (await readCatalog({ storeDir }))!;
		const repo = catalog.repos.find((x) => x.name === "meta/new-model")!;
		expect(repo.refs).toEqual({ main: commit });
		expect(repo.snapshots[0].files.map((f) => [f.path, f.size]).sort()).toEqual(
			Object.entries(NEW)
				.map(([p, b]) => [p, b.length])
				.sort(),
		);
		expect(repo.snapshots[0].files.find((f) => f.path === "model-00001-of-00002.safetensors")!.etag).toBe(sha256(NEW["model-00001-of-00002.safetensors"]));

		await refresh();
		const again = await absorbTarget({ target, storeDir, stateDir });
		expect(again.imported).toEqual([]);
		expect(again.awaitingRefresh).toEqual([]);
		expect(again.freedBytes).toBe(NEW_BYTES);
		expect(readdirSync(join(repoUpper, "blobs"))).toEqual([]);
		// The backend still loads it, now from the view.
		const loaded = load(hub, "meta/new-model");
		expect(loaded.commit).toBe(commit);
		for (const [p, b] of Object.entries(NEW)) expect(loaded.files[p], p).toMatchObject({ sha256: sha256(b), size: b.length });
		expect((await checkTarget({ target })).problems).toEqual([]);
	});

	it("modelfs absorb imports the download, refreshes the live view in place and frees the local copies in one run", async () => {
		const { storeDir, emulator, commit, target, stateDir, upper, hub, runRoot } = await setup();
		await download(hub, emulator.url, "meta/new-model");
		const repoUpper = join(upper, "huggingface", "hub", "models--meta--new-model");
		const r = await runCli(["absorb", target, "--store", storeDir, "--state-dir", stateDir, "--json"], { env: { MODELFS_RUN_DIR: runRoot } });
		expect(r.code, r.stderr).toBe(0);
		const out = JSON.parse(r.stdout);
		expect(out.imported).toMatchObject([{ name: "meta/new-model", commit }]);
		expect(out.awaitingRefresh).toEqual([]);
		expect(out.freedBytes).toBe(NEW_BYTES);
		expect(readdirSync(join(repoUpper, "blobs"))).toEqual([]);
		expect(load(hub, "meta/new-model").commit).toBe(commit);
	});

	it("leaves an interrupted download, a partial snapshot and a blob that does not match its name out of the store", async () => {
		const { storeDir, emulator, target, stateDir, upper, hub } = await setup();
		// An interrupted download: a shard's .incomplete stays.
		expect(await download(hub, emulator.url, "meta/new-model", ["--stop-after-bytes", "100000", "--only", "model-00001-of-00002.safetensors"])).toBe(3);
		// A partial snapshot of another repo: the index names a shard that was not downloaded.
		const partial = await emulator.hub.commit({ repo: "meta/partial", files: NEW });
		await download(hub, emulator.url, "meta/partial", ["--only", "config.json,model.safetensors.index.json,model-00001-of-00002.safetensors"]);
		// A third whose blob was damaged after the download: same name, other bytes.
		const bad = await emulator.hub.commit({ repo: "meta/bad", files: { "w.safetensors": bytes("b", 300_000) } });
		await download(hub, emulator.url, "meta/bad");
		writeFileSync(join(hub, "models--meta--bad", "blobs", sha256(bytes("b", 300_000))), bytes("x", 300_000));
		const before = treeDigest(upper);

		const r = await absorbTarget({ target, storeDir, stateDir });
		expect(r.imported).toEqual([]);
		expect(r.notImported.map((n) => [n.path, n.reason.replace(/: .*/s, "")]).sort((a, b) => a[0].localeCompare(b[0]))).toEqual([
			[`huggingface/hub/models--meta--bad/snapshots/${bad}`, "w.safetensors did not verify"],
			[expect.stringMatching(/^huggingface\/hub\/models--meta--new-model\/snapshots\//), expect.stringContaining("a download of this repo is unfinished")],
			[`huggingface/hub/models--meta--partial/snapshots/${partial}`, "model.safetensors.index.json lists model-00002-of-00002.safetensors, which was not downloaded"],
		]);
		expect((await readCatalog({ storeDir }))!.repos.map((x) => x.name)).toEqual(["org/stored"]);
		expect(treeDigest(upper)).toEqual(before);
	});

	it("on a node whose store is read-only says so and changes nothing", async () => {
		const { storeDir, emulator, target, stateDir, upper, hub } = await setup();
		await download(hub, emulator.url, "meta/new-model");
		execFileSync("mount", ["--bind", storeDir, storeDir]);
		onTestFinished(() => {
			if (isMountPoint(storeDir)) execFileSync("umount", [storeDir]);
		});
		execFileSync("mount", ["-o", "remount,bind,ro", storeDir]);
		const before = treeDigest(upper);
		const r = await absorbTarget({ target, storeDir, stateDir });
		expect(r.readOnlyStore).toBe(true);
		expect(r.imported).toEqual([]);
		expect(r.notImported).toEqual([{ path: expect.stringContaining("models--meta--new-model/snapshots/"), reason: `the store ${storeDir} is read-only on this node` }]);
		expect(r.absorbed).toEqual([]);
		expect(treeDigest(upper)).toEqual(before);
		expect(isMountPoint(target)).toBe(true);
		expect(existsSync(join(hub, "models--meta--new-model", "refs", "main"))).toBe(true);
	});
});
