import { realpathSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mergeScanReports } from "../../src/scan/mergeScanReports.js";
import type { ScanReport } from "../../src/scan/ScanTypes.js";
import { scanCaches } from "../../src/scan/scanCaches.js";
import { tempDir } from "../overlay/fixtures.js";
import { fill, modelFiles, writeHfRepo, writePlainFolder } from "./scanFixtures.js";

const COMMIT = "ab".repeat(20);
const sum = (files: Array<{ bytes: Buffer }>) => files.reduce((n, f) => n + f.bytes.length, 0);

describe("mergeScanReports", () => {
	it("adds up two nodes' reports: held is the sum, shared contents count once, the rest is duplicated across nodes", async () => {
		const root = realpathSync(tempDir("modelfs-scan-"));
		const qwen = modelFiles("qwen");
		const llama = modelFiles("llama", 1 << 20);
		// Node 1: vLLM and SGLang both hold Qwen. Node 2: TensorRT-LLM's plain folder of Qwen, and Llama.
		writeHfRepo({ hub: join(root, "n1", "vllm"), repo: "Qwen/Qwen3-8B", commit: COMMIT, files: qwen });
		writeHfRepo({ hub: join(root, "n1", "sglang"), repo: "Qwen/Qwen3-8B", commit: COMMIT, files: qwen });
		writeHfRepo({ hub: join(root, "n2", "hub"), repo: "meta/llama", commit: COMMIT, files: llama });
		writePlainFolder(join(root, "n2", "trtllm", "qwen"), qwen);
		const a = await scanCaches({ dirs: [join(root, "n1")], node: "n1" });
		// n2's plain files have sizes of their own there: only --hash-unnamed lets the merge match them.
		const unhashed = mergeScanReports({ reports: [a, await scanCaches({ dirs: [join(root, "n2")], node: "n2" })] });
		expect(unhashed.totals).toMatchObject({ crossNodeDuplicateBytes: 0, unprovenBytes: sum(qwen) });
		const b = await scanCaches({ dirs: [join(root, "n2")], node: "n2", hashUnnamed: true });
		const m = mergeScanReports({ reports: [a, b] });
		expect(m.totals.heldBytes).toBe(a.totals.heldBytes + b.totals.heldBytes);
		expect(m.totals.heldBytes).toBe(3 * sum(qwen) + sum(llama));
		expect(m.totals.uniqueBytes).toBe(sum(qwen) + sum(llama));
		expect(m.totals.duplicateBytes).toBe(2 * sum(qwen));
		// n1 duplicates Qwen once within itself; the other copy is on n2.
		expect(m.totals.crossNodeDuplicateBytes).toBe(sum(qwen));
		expect(m.totals.unprovenBytes).toBe(0);
		expect(m.nodes).toEqual([
			expect.objectContaining({ node: "n1", heldBytes: 2 * sum(qwen), uniqueBytes: sum(qwen), duplicateBytes: sum(qwen), sharedWithOtherNodesBytes: sum(qwen) }),
			expect.objectContaining({ node: "n2", heldBytes: sum(qwen) + sum(llama), uniqueBytes: sum(qwen) + sum(llama), duplicateBytes: 0, sharedWithOtherNodesBytes: sum(qwen) }),
		]);
		const byId = Object.fromEntries(m.models.map((x) => [x.id, x]));
		expect(byId["model:Qwen/Qwen3-8B"]).toMatchObject({ heldBytes: 3 * sum(qwen), uniqueBytes: sum(qwen), duplicateBytes: 2 * sum(qwen), crossNodeDuplicateBytes: sum(qwen) });
		expect(byId["model:Qwen/Qwen3-8B"].nodes).toEqual([
			{ node: "n1", copies: 2, heldBytes: 2 * sum(qwen) },
			{ node: "n2", copies: 1, heldBytes: sum(qwen) },
		]);
		expect(byId["model:meta/llama"]).toMatchObject({ heldBytes: sum(llama), duplicateBytes: 0, crossNodeDuplicateBytes: 0 });
	});

	it("matches a plain file hashed on one node with a hub blob named by git sha1 on another", async () => {
		const root = realpathSync(tempDir("modelfs-scan-"));
		const files = [{ path: "config.json", bytes: Buffer.from('{"a":1}'), lfs: false }];
		writeHfRepo({ hub: join(root, "n1"), repo: "o/m", commit: COMMIT, files });
		writePlainFolder(join(root, "n2", "a"), [...files, { path: "w.safetensors", bytes: fill("w", 5000), lfs: true }]);
		writePlainFolder(join(root, "n2", "b"), [{ path: "w.safetensors", bytes: fill("w", 5000), lfs: true }]);
		const a = await scanCaches({ dirs: [join(root, "n1")], node: "n1" });
		const b = await scanCaches({ dirs: [join(root, "n2")], node: "n2", hashUnnamed: true });
		expect(a.contents[0].id.startsWith("sha1:")).toBe(true);
		expect(b.contents.find((c) => c.size === 7)!.aliases).toContain(a.contents[0].id);
		const m = mergeScanReports({ reports: [a, b] });
		expect(m.totals.crossNodeDuplicateBytes).toBe(7);
	});

	it("never matches unhashed files across nodes, and says how many bytes that leaves unproven", async () => {
		const root = realpathSync(tempDir("modelfs-scan-"));
		const files = [{ path: "model.safetensors", bytes: fill("same", 3000), lfs: true }];
		writePlainFolder(join(root, "n1", "m"), files);
		writePlainFolder(join(root, "n2", "m"), files);
		const a = await scanCaches({ dirs: [join(root, "n1")], node: "n1" });
		const b = await scanCaches({ dirs: [join(root, "n2")], node: "n2" });
		const m = mergeScanReports({ reports: [a, b] });
		expect(m.totals).toMatchObject({ heldBytes: 6000, uniqueBytes: 6000, crossNodeDuplicateBytes: 0, unprovenBytes: 6000 });
		const proven = mergeScanReports({
			reports: [await scanCaches({ dirs: [join(root, "n1")], node: "n1", hashUnnamed: true }), await scanCaches({ dirs: [join(root, "n2")], node: "n2", hashUnnamed: true })],
		});
		expect(proven.totals).toMatchObject({ uniqueBytes: 3000, crossNodeDuplicateBytes: 3000, unprovenBytes: 0 });
	});

	it("refuses two reports of one node and anything that is not a scan report", async () => {
		const root = realpathSync(tempDir("modelfs-scan-"));
		writePlainFolder(join(root, "m"), [{ path: "a.safetensors", bytes: fill("a", 10), lfs: true }]);
		const a = await scanCaches({ dirs: [root], node: "n1" });
		expect(() => mergeScanReports({ reports: [a, a], sources: ["x.json", "y.json"] })).toThrow(
			expect.objectContaining({ code: "SCAN_DUPLICATE_NODE", message: expect.stringContaining("y.json and x.json") }),
		);
		expect(() => mergeScanReports({ reports: [{ kind: "other" } as unknown as ScanReport] })).toThrow(expect.objectContaining({ code: "SCAN_BAD_REPORT" }));
	});
});
