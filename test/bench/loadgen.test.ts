import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BenchSession } from "../../bench/load/BenchSession.js";
import { buildLoadgen } from "../../bench/load/buildLoadgen.js";
import { generateModel } from "../../bench/load/generateModel.js";
import { runLoadgen } from "../../bench/load/runLoadgen.js";

// bench/loadgen.c is what every figure of `npm run bench` comes from: each
// access pattern must read every byte of the same files, whatever its
// threads and chunk sizes, or the rows would not be comparable.
describe("loadgen", () => {
	const session = new BenchSession();
	let dir: string;
	let binary: string;
	let files: string[];
	let size: number;

	beforeAll(async () => {
		dir = mkdtempSync(join(tmpdir(), "modelfs-loadgen-"));
		binary = await buildLoadgen({ session });
		const model = generateModel({ dir, totalBytes: 3 * 2 ** 20 + 12345, shards: 3 });
		files = model.weights.map((w) => join(dir, w));
		size = model.weightBytes;
		for (const f of files) {
			const fd = openSync(f, "r+");
			fsyncSync(fd);
			closeSync(fd);
		}
	});
	afterAll(() => {
		session.close();
		rmSync(dir, { recursive: true, force: true });
	});

	it("reads every byte with the same checksum in every mode", async () => {
		const modes = [
			["seq", String(1 << 20), "1"],
			["seq", "4097", "1"],
			["pread", "16", String(256 << 10), "interleave", "1"],
			["pread", "8", String(64 << 10), "ranges", "1"],
			["pread", "3", "4096", "ranges", "1"],
			["mmap", "1"],
			["loader", "1"],
		];
		const results = [];
		for (const m of modes) results.push(await runLoadgen({ session, binary, args: [...m, ...files] }));
		for (const r of results) expect(r.bytes).toBe(size);
		expect(new Set(results.map((r) => r.checksum)).size).toBe(1);
		expect(results[0].checksum).toMatch(/^[0-9a-f]{16}$/);
	});

	it("gives another checksum when one byte differs", async () => {
		const a = await runLoadgen({ session, binary, args: ["seq", String(1 << 20), "1", files[0]] });
		const b = await runLoadgen({ session, binary, args: ["seq", String(1 << 20), "1", files[1]] });
		expect(a.checksum).not.toBe(b.checksum);
	});

	it("drops a file's page cache with evict and counts it with resident", async () => {
		await runLoadgen({ session, binary, args: ["seq", String(1 << 20), "0", files[0]] });
		const warm = await runLoadgen<{ resident: number; size: number }>({ session, binary, args: ["resident", files[0]] });
		expect(warm.size).toBe(statSync(files[0]).size);
		expect(warm.resident).toBeGreaterThanOrEqual(warm.size - 4096);
		await runLoadgen({ session, binary, args: ["evict", files[0]] });
		const cold = await runLoadgen<{ resident: number }>({ session, binary, args: ["resident", files[0]] });
		expect(cold.resident).toBe(0);
	});

	it("stats a list of paths and walks a tree", async () => {
		const stat = await runLoadgen<{ entries: number }>({ session, binary, args: ["stat"], input: `${files.join("\n")}\n` });
		expect(stat.entries).toBe(files.length);
		const walk = await runLoadgen<{ entries: number }>({ session, binary, args: ["walk", dir] });
		expect(walk.entries).toBe(files.length + 3); // + index json, config.json, tokenizer.json
	});

	it("fails naming the path when a file is missing", async () => {
		await expect(runLoadgen({ session, binary, args: ["seq", "4096", "0", join(dir, "nope")] })).rejects.toThrow(/nope/);
	});

	it("refuses a file that is not safetensors in loader mode", async () => {
		const cfg = join(dir, "config.json");
		expect(readFileSync(cfg, "utf8").startsWith("{")).toBe(true);
		await expect(runLoadgen({ session, binary, args: ["loader", "0", cfg] })).rejects.toThrow(/header length|not a safetensors/);
	});
});
