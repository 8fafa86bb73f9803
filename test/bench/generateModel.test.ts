import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { generateModel } from "../../bench/load/generateModel.js";

describe("generateModel", () => {
	let dir: string;
	afterEach(() => rmSync(dir, { recursive: true, force: true }));

	it("writes valid safetensors shards whose tensors fill each file exactly", () => {
		dir = mkdtempSync(join(tmpdir(), "modelfs-genmodel-"));
		const model = generateModel({ dir, totalBytes: 6 * 2 ** 20, shards: 4 });
		expect(model.weights).toHaveLength(4);
		let total = 0;
		for (const w of model.weights) {
			const bytes = readFileSync(join(dir, w));
			const n = Number(bytes.readBigUInt64LE(0));
			expect(n % 8).toBe(0);
			const header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8")) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
			const tensors = Object.entries(header).filter(([k]) => k !== "__metadata__");
			tensors.sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
			let end = 0;
			for (const [, t] of tensors) {
				expect(t.dtype).toBe("BF16");
				expect(t.data_offsets[0]).toBe(end);
				expect(t.data_offsets[1] - t.data_offsets[0]).toBe(t.shape.reduce((a, b) => a * b, 2));
				end = t.data_offsets[1];
			}
			expect(bytes.length).toBe(8 + n + end);
			total += bytes.length;
		}
		expect(total).toBe(model.weightBytes);
		const index = JSON.parse(readFileSync(join(dir, "model.safetensors.index.json"), "utf8")) as { weight_map: Record<string, string> };
		expect(new Set(Object.values(index.weight_map))).toEqual(new Set(model.weights));
		for (const f of model.files) expect(statSync(join(dir, f)).size).toBeGreaterThan(0);
	});

	it("fills tensors with bytes that do not repeat", () => {
		dir = mkdtempSync(join(tmpdir(), "modelfs-genmodel-"));
		const model = generateModel({ dir, totalBytes: 2 * 2 ** 20, shards: 1 });
		const bytes = readFileSync(join(dir, model.weights[0]));
		const a = bytes.subarray(bytes.length - 8192, bytes.length - 4096);
		const b = bytes.subarray(bytes.length - 4096);
		expect(a.equals(b)).toBe(false);
		expect(new Set(a).size).toBeGreaterThan(200);
	});

	it("rejects a size that is not positive", () => {
		dir = mkdtempSync(join(tmpdir(), "modelfs-genmodel-"));
		expect(() => generateModel({ dir, totalBytes: 0 })).toThrow(TypeError);
	});
});
