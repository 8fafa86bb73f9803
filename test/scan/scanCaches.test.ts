import { linkSync, mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scanCaches } from "../../src/scan/scanCaches.js";
import { tempDir, treeDigest } from "../overlay/fixtures.js";
import { etagOf, fill, modelFiles, writeHfRepo, writePlainFolder } from "./scanFixtures.js";

const COMMIT = "c0ffee".padEnd(40, "0");

/** A node with vLLM, SGLang and TensorRT-LLM folders that each hold the same model. */
function threeBackends(root: string) {
	const files = modelFiles("qwen");
	const vllm = join(root, "spark-vllm-docker", "cache");
	const sglang = join(root, "spark-sglang-docker", "cache");
	const trtllm = join(root, "trtllm", "models");
	writeHfRepo({ hub: join(vllm, "huggingface", "hub"), repo: "Qwen/Qwen3-8B", commit: COMMIT, files });
	writeHfRepo({ hub: join(sglang, "huggingface", "hub"), repo: "Qwen/Qwen3-8B", commit: COMMIT, files });
	writePlainFolder(join(trtllm, "Qwen3-8B"), files);
	// What else lives in a backend cache folder: not a model, not counted.
	mkdirSync(join(vllm, "vllm", "torch_compile_cache", "abc"), { recursive: true });
	writeFileSync(join(vllm, "vllm", "torch_compile_cache", "abc", "graph.py"), fill("graph", 5000));
	const modelBytes = files.reduce((n, f) => n + f.bytes.length, 0);
	return { files, vllm, sglang, trtllm, modelBytes };
}

describe("scanCaches", () => {
	it("reports two copies' worth duplicated for one model held by vLLM, SGLang and TensorRT-LLM folders", async () => {
		const root = realpathSync(tempDir("modelfs-scan-"));
		const { vllm, sglang, trtllm, modelBytes, files } = threeBackends(root);
		const r = await scanCaches({ dirs: [vllm, sglang, trtllm], node: "gpu-1" });
		expect(r.node).toBe("gpu-1");
		expect(r.totals).toMatchObject({ files: 12, heldBytes: 3 * modelBytes, uniqueBytes: modelBytes, duplicateBytes: 2 * modelBytes });
		// The plain folder takes the hub repo's name: its files are that repo's blobs.
		expect(r.models.map((m) => m.id)).toEqual(["model:Qwen/Qwen3-8B"]);
		expect(r.models[0]).toMatchObject({ heldBytes: 3 * modelBytes, uniqueBytes: modelBytes, duplicateBytes: 2 * modelBytes });
		expect(r.models[0].copies.map((c) => [c.kind, c.files, c.heldBytes])).toEqual([
			["hf-cache", 4, modelBytes],
			["hf-cache", 4, modelBytes],
			["folder", 4, modelBytes],
		]);
		expect(r.models[0].copies[0].revisions).toEqual([COMMIT]);
		// Only the plain folder's files were read (each shares its size with a named blob); no blob was hashed.
		expect(r.totals.hashedFiles).toBe(4);
		expect(r.totals.hashedBytes).toBe(modelBytes);
		expect(r.contents.map((c) => c.id).sort()).toEqual(files.map((f) => `${f.lfs ? "sha256" : "sha1"}:${etagOf(f)}`).sort());
		expect(r.contents.every((c) => c.copies === 3)).toBe(true);
	});

	it("hashes nothing that blob names and sizes prove, trusting the names", async () => {
		const root = realpathSync(tempDir("modelfs-scan-"));
		const files = modelFiles("m");
		const a = writeHfRepo({ hub: join(root, "a"), repo: "o/m", commit: COMMIT, files });
		writeHfRepo({ hub: join(root, "b"), repo: "o/m", commit: COMMIT, files });
		// Same name and size, other bytes: scan does not read it, so it counts as the same content.
		const shard = files[2];
		writeFileSync(join(a, "blobs", etagOf(shard)), fill("tampered", shard.bytes.length));
		const r = await scanCaches({ dirs: [root] });
		expect(r.totals.hashedFiles).toBe(0);
		expect(r.totals.duplicateBytes).toBe(files.reduce((n, f) => n + f.bytes.length, 0));
	});

	it("reads only plain files whose size another file shares, and tells same-size contents apart", async () => {
		const root = realpathSync(tempDir("modelfs-scan-"));
		writePlainFolder(join(root, "x"), [
			{ path: "config.json", bytes: Buffer.from('{"x":1}'), lfs: false },
			{ path: "model.safetensors", bytes: fill("x", 100_000), lfs: true },
		]);
		writePlainFolder(join(root, "y"), [
			{ path: "config.json", bytes: Buffer.from('{"y":1}'), lfs: false },
			{ path: "model.safetensors", bytes: fill("y", 100_000), lfs: true },
			{ path: "extra.safetensors", bytes: fill("y2", 12_345), lfs: true },
		]);
		const r = await scanCaches({ dirs: [root] });
		// extra.safetensors has a size of its own: unique without reading it.
		expect(r.totals.hashedFiles).toBe(4);
		expect(r.totals.duplicateBytes).toBe(0);
		expect(r.models.map((m) => m.id).sort()).toEqual([`folder:${join(root, "x")}`, `folder:${join(root, "y")}`]);
		expect(r.contents.filter((c) => c.id.startsWith("local:")).map((c) => c.size)).toEqual([12_345]);
		const all = await scanCaches({ dirs: [root], hashUnnamed: true });
		expect(all.totals.hashedFiles).toBe(5);
		expect(all.contents.some((c) => c.id.startsWith("local:"))).toBe(false);
	});

	it("counts hard links once, and snapshot links into elsewhere (a view) as nothing held", async () => {
		const root = realpathSync(tempDir("modelfs-scan-"));
		const files = modelFiles("h");
		const a = writeHfRepo({ hub: join(root, "a"), repo: "o/h", commit: COMMIT, files });
		const b = writeHfRepo({ hub: join(root, "b"), repo: "o/h", commit: COMMIT, files });
		for (const f of files) {
			rmSync(join(b, "blobs", etagOf(f)));
			linkSync(join(a, "blobs", etagOf(f)), join(b, "blobs", etagOf(f)));
		}
		// A third cache whose snapshot links point into another folder, as `absorb` leaves a plain cache.
		const c = join(root, "c", "models--o--h", "snapshots", COMMIT);
		mkdirSync(c, { recursive: true });
		for (const f of files) symlinkSync(join(a, "blobs", etagOf(f)), join(c, f.path));
		const r = await scanCaches({ dirs: [root] });
		const bytes = files.reduce((n, f) => n + f.bytes.length, 0);
		expect(r.totals).toMatchObject({ files: 4, heldBytes: bytes, duplicateBytes: 0 });
	});

	it("changes nothing on disk, skips unfinished downloads and leaves modelfs views out", async () => {
		const root = realpathSync(tempDir("modelfs-scan-"));
		const { vllm, sglang, trtllm, modelBytes } = threeBackends(root);
		const repo = join(vllm, "huggingface", "hub", "models--Qwen--Qwen3-8B");
		writeFileSync(join(repo, "blobs", `${"e".repeat(64)}.incomplete`), fill("partial", 9999));
		// A folder that mountinfo says is a modelfs view (a fake mount table: nothing is mounted here).
		const view = join(root, "view");
		writeHfRepo({ hub: view, repo: "Qwen/Qwen3-8B", commit: COMMIT, files: modelFiles("qwen") });
		const mountinfo = join(root, "mountinfo");
		writeFileSync(mountinfo, `99 1 0:77 / ${view} ro,nosuid,nodev - fuse.modelfs modelfs ro,user_id=0\n`);
		const before = treeDigest(root);
		const r = await scanCaches({ dirs: [vllm, sglang, trtllm, view], mountinfo });
		expect(treeDigest(root)).toEqual(before);
		expect(r.totals.heldBytes).toBe(3 * modelBytes);
		expect(r.skipped.map((s) => [s.path, s.reason])).toEqual([
			[join(repo, "blobs", `${"e".repeat(64)}.incomplete`), "incomplete"],
			[view, "modelfs-view"],
		]);
	});

	it("fails with a usage error on a missing folder", async () => {
		await expect(scanCaches({ dirs: ["/nonexistent/modelfs-scan"] })).rejects.toMatchObject({ code: "SCAN_PATH_NOT_FOUND" });
	});
});
