import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { stopMount } from "../../src/mount/stopMount.js";
import { overlayDown } from "../../src/overlay/overlayDown.js";
import { overlayUp } from "../../src/overlay/overlayUp.js";
import { canMount } from "../support/canMount.js";
import { bytes, isMountPoint, tempDir, treeDigest, unmountOnFinish } from "./fixtures.js";
import { addRepoToStore } from "./makeStore.js";
import { mountTestView } from "./mountTestView.js";

const LOADER = fileURLToPath(new URL("./hf_offline_load.py", import.meta.url));
const MODEL = [
	{ path: "config.json", bytes: Buffer.from('{"architectures":["Qwen3ForCausalLM"]}') },
	{ path: "model-00001-of-00002.safetensors", bytes: bytes("m1", 5 << 20) },
	{ path: "model-00002-of-00002.safetensors", bytes: bytes("m2", 3 << 20) },
	{ path: "onnx/sub/model.onnx", bytes: bytes("onnx", 70_000) },
];
const MODEL_BYTES = MODEL.reduce((n, f) => n + f.bytes.length, 0);
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Loads the model as an offline backend would, in a mount namespace of its own. */
function load(hub: string, repo: string): { commit: string; files: Record<string, { sha256: string; size: number }> } {
	const out = execFileSync("unshare", ["-m", "--propagation", "private", "python3", LOADER, repo], {
		env: { ...process.env, HF_HUB_CACHE: hub, HF_HUB_OFFLINE: "1" },
		encoding: "utf8",
	});
	return JSON.parse(out);
}

/** A store, its view (prefix huggingface/hub), a backend folder with an overlay on it that already holds the backend's own files. */
async function setup(root: string, opts: { stateDir?: string; target?: string } = {}) {
	const storeDir = join(root, "store");
	const commit = await addRepoToStore({ storeDir, repo: "org/model", files: MODEL });
	const view = await mountTestView({ root, storeDir, prefix: "huggingface/hub" });
	const target = opts.target ?? join(root, "spark-vllm-docker", "cache");
	mkdirSync(target, { recursive: true });
	unmountOnFinish(target);
	const stateDir = opts.stateDir ?? join(root, "state");
	await overlayUp({ target, lower: view.mountpoint, stateDir });
	// What a backend writes through the overlay: locks and a compile cache.
	mkdirSync(join(target, "huggingface", "hub", ".locks", "models--org--model"), { recursive: true });
	writeFileSync(join(target, "huggingface", "hub", ".locks", "models--org--model", "x.lock"), "");
	mkdirSync(join(target, "vllm", "torch_compile_cache"), { recursive: true });
	writeFileSync(join(target, "vllm", "torch_compile_cache", "graph.py"), bytes("graph", 30_000));
	return { storeDir, commit, view, target, stateDir };
}

describe.runIf(canMount)("overlayDown with materialize", () => {
	it("leaves byte-equal real files in the folder that still load after the view is unmounted", async () => {
		const root = realpathSync(tempDir());
		const { commit, view, target, stateDir, storeDir } = await setup(root);
		const hub = join(target, "huggingface", "hub");
		const before = treeDigest(target);
		const r = await overlayDown({ target, materialize: true, stateDir, storeDir });
		expect(r.wasMounted).toBe(true);
		expect(isMountPoint(target)).toBe(false);
		// Four blobs and refs/main came from the view; the snapshot symlinks too.
		expect(r.materialized).toMatchObject({ files: MODEL.length + 1, bytes: MODEL_BYTES + commit.length, symlinks: MODEL.length });
		expect(r.restored!.files).toBe(2);
		await stopMount({ mountpoint: view.mountpoint, runRoot: view.runRoot });
		// Everything the folder showed, as it showed it (files are writable by their owner now).
		const strip = (t: Record<string, string>) => Object.fromEntries(Object.entries(t).map(([p, d]) => [p, d.replace(/^file:[0-7]+:/, "file:")]));
		expect(strip(treeDigest(target))).toEqual(strip(before));
		const blobs = join(hub, "models--org--model", "blobs");
		for (const f of MODEL) {
			const s = lstatSync(join(blobs, sha256(f.bytes)));
			expect(s.isFile()).toBe(true);
			expect(readFileSync(join(blobs, sha256(f.bytes))).equals(f.bytes)).toBe(true);
		}
		const loaded = load(hub, "org/model");
		expect(loaded.commit).toBe(commit);
		expect(Object.keys(loaded.files).sort()).toEqual(MODEL.map((f) => f.path).sort());
		for (const f of MODEL) expect(loaded.files[f.path]).toMatchObject({ sha256: sha256(f.bytes), size: f.bytes.length });
		expect(readFileSync(join(target, "vllm", "torch_compile_cache", "graph.py")).equals(bytes("graph", 30_000))).toBe(true);
		expect(readdirSync(stateDir).length === 0 || readdirSync(join(stateDir, "overlay")).length === 0).toBe(true);
	});

	it("refuses when the folder's filesystem cannot hold the view's files, and changes nothing", async () => {
		const root = realpathSync(tempDir());
		const small = join(root, "small");
		mkdirSync(small);
		execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", small]);
		unmountOnFinish(small);
		const { target, stateDir } = await setup(root, { target: join(small, "cache") });
		const before = treeDigest(target);
		await expect(overlayDown({ target, materialize: true, stateDir })).rejects.toMatchObject({
			code: "OVERLAY_NO_SPACE",
			message: expect.stringContaining("nothing was changed"),
		});
		expect(isMountPoint(target)).toBe(true);
		expect(treeDigest(target)).toEqual(before);
	});

	it("says without materialize how many files the view provided, which the folder no longer shows", async () => {
		const root = realpathSync(tempDir());
		const { target, stateDir, commit } = await setup(root);
		const r = await overlayDown({ target, restore: true, stateDir });
		// The view's four blobs and refs/main: symlinks are not counted.
		expect(r.viewProvided).toEqual({ files: MODEL.length + 1, bytes: MODEL_BYTES + commit.length });
		expect(r.materialized).toBeNull();
		expect(readdirSync(join(target, "huggingface", "hub"))).toEqual([".locks"]);
	});
});

const haveXfs = (() => {
	try {
		execFileSync("mkfs.xfs", ["-V"], { stdio: "ignore" });
		return readFileSync("/proc/filesystems", "utf8").includes("xfs");
	} catch {
		return false;
	}
})();

describe.runIf(canMount && haveXfs)("overlayDown with materialize on XFS", () => {
	it("reflinks the store's blobs when the store and the folder share a filesystem with reflinks", async () => {
		const root = realpathSync(tempDir());
		const image = join(root, "xfs.img");
		execFileSync("truncate", ["-s", "400M", image]);
		execFileSync("mkfs.xfs", ["-q", "-m", "reflink=1", image]);
		const fs = join(root, "xfs");
		mkdirSync(fs);
		execFileSync("mount", ["-o", "loop", image, fs]);
		onTestFinished(() => {
			if (isMountPoint(fs)) execFileSync("umount", [fs]);
		});
		const { target, stateDir, storeDir, view } = await setup(fs, { stateDir: join(fs, "state") });
		const free = statfsSync(fs);
		const r = await overlayDown({ target, materialize: true, stateDir, storeDir });
		expect(r.materialized).toMatchObject({ reflinkedFiles: MODEL.length, reflinkedBytes: MODEL_BYTES });
		// Shared extents: the copies took (almost) no new space.
		const after = statfsSync(fs);
		expect((free.bavail - after.bavail) * after.bsize).toBeLessThan(MODEL_BYTES / 4);
		await stopMount({ mountpoint: view.mountpoint, runRoot: view.runRoot });
		for (const f of MODEL) expect(readFileSync(join(target, "huggingface", "hub", "models--org--model", "blobs", sha256(f.bytes))).equals(f.bytes)).toBe(true);
	});
});
