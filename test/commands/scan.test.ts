import { realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../overlay/fixtures.js";
import { modelFiles, writeHfRepo, writePlainFolder } from "../scan/scanFixtures.js";
import { runCli } from "../support/runCli.js";

const COMMIT = "5ca1ab1e".padEnd(40, "0");

describe("modelfs scan", () => {
	it("prints per model and in total what is held and what one store would hold; --json and --merge add up", async () => {
		const root = realpathSync(tempDir("modelfs-scan-cli-"));
		const files = modelFiles("qwen");
		const bytes = files.reduce((n, f) => n + f.bytes.length, 0);
		const vllm = join(root, "spark-vllm-docker", "cache");
		const sglang = join(root, "spark-sglang-docker", "cache");
		const trtllm = join(root, "trtllm", "models");
		writeHfRepo({ hub: join(vllm, "huggingface", "hub"), repo: "Qwen/Qwen3-8B", commit: COMMIT, files });
		writeHfRepo({ hub: join(sglang, "huggingface", "hub"), repo: "Qwen/Qwen3-8B", commit: COMMIT, files });
		writePlainFolder(join(trtllm, "Qwen3-8B"), files);

		const text = await runCli(["scan", vllm, sglang, trtllm, "--node", "gpu-1"]);
		expect(text.code, text.stderr).toBe(0);
		expect(text.stdout).toMatch(/^node gpu-1: 1 model in 3 copies\n/);
		expect(text.stdout).toMatch(/model:Qwen\/Qwen3-8B\s+3\s+12\.2 MiB\s+4\.1 MiB\s+8\.1 MiB/);
		expect(text.stdout).toContain("one shared store would hold 4.1 MiB; duplicated 8.1 MiB (2.00 copies' worth)");
		expect(text.stdout).toContain("hashed 4 files (4.1 MiB) to prove identity; 0 skipped");

		const n1 = await runCli(["scan", vllm, sglang, "--json", "--node", "n1"]);
		const n2 = await runCli(["scan", trtllm, "--json", "--node", "n2", "--hash-unnamed"]);
		expect(n1.code, n1.stderr).toBe(0);
		expect(JSON.parse(n1.stdout).totals).toMatchObject({ heldBytes: 2 * bytes, uniqueBytes: bytes, duplicateBytes: bytes, hashedFiles: 0 });
		writeFileSync(join(root, "n1.json"), n1.stdout);
		writeFileSync(join(root, "n2.json"), n2.stdout);
		const merged = await runCli(["scan", "--merge", join(root, "n1.json"), join(root, "n2.json"), "--json"]);
		expect(merged.code, merged.stderr).toBe(0);
		expect(JSON.parse(merged.stdout).totals).toEqual({ heldBytes: 3 * bytes, uniqueBytes: bytes, duplicateBytes: 2 * bytes, crossNodeDuplicateBytes: bytes, unprovenBytes: 0 });
		const mergedText = await runCli(["scan", "--merge", join(root, "n1.json"), join(root, "n2.json")]);
		expect(mergedText.stdout).toContain(
			"cluster: 12.2 MiB held on 2 nodes; one shared store would hold 4.1 MiB; duplicated 8.1 MiB (2.00 copies' worth), 4.1 MiB of it across nodes",
		);
	});

	it("exits 2 naming a folder that does not exist, or a file that is not a report", async () => {
		const root = realpathSync(tempDir("modelfs-scan-cli-"));
		const r = await runCli(["scan", join(root, "nope")]);
		expect(r.code).toBe(2);
		expect(r.stderr).toContain(`modelfs: ${join(root, "nope")} does not exist`);
		writeFileSync(join(root, "x.json"), "{}");
		const m = await runCli(["scan", "--merge", join(root, "x.json")]);
		expect(m.code).toBe(2);
		expect(m.stderr).toContain(`${join(root, "x.json")} is not a modelfs scan report`);
	});
});
