import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { canMount } from "../support/canMount.js";
import { runCli } from "../support/runCli.js";

describe.runIf(canMount)("modelfs demo", () => {
	it("ingests from the emulator, mounts view and overlay, loads offline, puts the lock in upper, and cleans up", async () => {
		const r = await runCli(["demo", "--size", "8"]);
		expect(r.code, r.stderr).toBe(0);
		for (const step of ["1. hub emulator", "2. ingested", "3. view mounted", "4. overlay on", "5. offline load", "6. wrote", "7. cleaned up"]) expect(r.stdout).toContain(step);
		expect(r.stdout).toMatch(/model-00001-of-00002\.safetensors -> \.\.\/\.\.\/blobs\/[0-9a-f]{64} {2}4\.0 MiB {2}sha256 ok/);
		// 8 MiB: 14 layers of two tensors; embeddings and 7 layers in the first shard, 7 layers, norm and lm_head in the second.
		expect(r.stdout).toMatch(/model-00001-of-00002\.safetensors -> .* {2}sha256 ok {2}safetensors header ok: 15 tensors, byte ranges ok/);
		expect(r.stdout).toMatch(/model-00002-of-00002\.safetensors -> .* {2}sha256 ok {2}safetensors header ok: 16 tensors, byte ranges ok/);
		expect(r.stdout).toContain("in upper yes, in the read-only view no");
		// Both reads at the same temperature, and the line says which.
		expect(r.stdout).toMatch(
			/page cache warm for both \(each read once before\), median of \d+ alternating reads: \d+\.\d\d GB\/s through overlay\+view, \d+\.\d\d GB\/s reading the blob directly \(ratio \d+\.\d\d\)/,
		);
		expect(r.stdout).not.toMatch(/x faster/);
		// Its own temporary folder (named in the output) is gone and nothing under it is mounted.
		const root = /into (\/\S+)\/store/.exec(r.stdout)?.[1];
		expect(root).toMatch(/modelfs-demo-/);
		expect(existsSync(root!)).toBe(false);
		expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(root!);
	});

	it("prints the figures as JSON", async () => {
		const r = await runCli(["demo", "--size", "2", "--json"]);
		expect(r.code, r.stderr).toBe(0);
		const j = JSON.parse(r.stdout);
		// config, generation_config, tokenizer, the safetensors index and two shards; 2 layers of two tensors, embeddings, norm, lm_head.
		expect(j).toMatchObject({ repo: "modelfs-demo/tiny-llm", files: 6, tensors: 7, lockInUpper: true });
		expect(j.bytesRead).toBeGreaterThan(2 << 20);
		expect(j.overlayGBs).toBeGreaterThan(0);
		expect(j.directGBs).toBeGreaterThan(0);
		expect(j.temperature).toBe("warm");
	});
});
