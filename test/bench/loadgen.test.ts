import { closeSync, copyFileSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
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
	let repoDir: string;
	// The hub layout, fake stat file and cgroup live apart, so the walk of `dir` counts only the model.
	let other: string;

	beforeAll(async () => {
		dir = mkdtempSync(join(tmpdir(), "modelfs-loadgen-"));
		binary = await buildLoadgen({ session });
		const model = generateModel({ dir, totalBytes: 3 * 2 ** 20 + 12345, shards: 3 });
		files = model.weights.map((w) => join(dir, w));
		size = model.weightBytes;
		// The same files as a hub cache folder: refs/main, snapshots/<commit>/<file> -> ../../blobs/<etag>.
		other = mkdtempSync(join(tmpdir(), "modelfs-loadgen-hub-"));
		repoDir = join(other, "hub", "models--bench--model");
		mkdirSync(join(repoDir, "refs"), { recursive: true });
		mkdirSync(join(repoDir, "blobs"));
		mkdirSync(join(repoDir, "snapshots", "c0ffee"), { recursive: true });
		writeFileSync(join(repoDir, "refs", "main"), "c0ffee");
		model.files.forEach((f, i) => {
			copyFileSync(join(dir, f), join(repoDir, "blobs", `etag${i}`));
			symlinkSync(`../../blobs/etag${i}`, join(repoDir, "snapshots", "c0ffee", f));
		});
		for (const f of files) {
			const fd = openSync(f, "r+");
			fsyncSync(fd);
			closeSync(fd);
		}
	});
	afterAll(() => {
		session.close();
		rmSync(dir, { recursive: true, force: true });
		rmSync(other, { recursive: true, force: true });
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
			["backend", "all", "1000000000", "1"],
			["backend", "io", "0", "1"],
		];
		const results = [];
		for (const m of modes) results.push(await runLoadgen({ session, binary, args: [...m, ...files] }));
		for (const r of results) expect(r.bytes).toBe(size);
		expect(new Set(results.map((r) => r.checksum)).size).toBe(1);
		expect(results[0].checksum).toMatch(/^[0-9a-f]{16}$/);
	});

	it("loads like a backend by the hub path: refs/main, the index's shards, every tensor copied out of the map", async () => {
		const ref = await runLoadgen({ session, binary, args: ["seq", String(1 << 20), "1", ...files] });
		const hub = await runLoadgen({ session, binary, args: ["backend", "all", "1000000000", "1", repoDir] });
		expect(hub.bytes).toBe(size);
		expect(hub.checksum).toBe(ref.checksum);
		expect(hub.copySeconds).toBeGreaterThan(0);
		// 3 MiB of tensors worked on at 1 GB/s: at least 3 ms of work, and the work is part of the whole.
		expect(hub.workSeconds).toBeGreaterThanOrEqual(0.003);
		expect(hub.seconds).toBeGreaterThanOrEqual(hub.workSeconds! + hub.copySeconds!);
		const io = await runLoadgen({ session, binary, args: ["backend", "io", "1000000000", "0", repoDir] });
		expect(io.workSeconds).toBe(0);
		const work = await runLoadgen({ session, binary, args: ["backend", "work", "1000000000", "0", repoDir] });
		expect(work.bytes).toBe(size);
		expect(work.copySeconds).toBe(0);
		expect(work.seconds).toBeGreaterThanOrEqual(0.003);
	});

	it("reports the loader's faults, the device's counters and joins a cgroup when told to", async () => {
		const stat = join(other, "fake-stat");
		writeFileSync(stat, "  100 2 8000 30 0 0 0 0 0 40 40 0 0 0 0 0 0\n");
		const group = join(other, "fake-cgroup");
		mkdirSync(group);
		const r = await runLoadgen({ session, binary, args: ["mmap", "0", ...files], env: { LOADGEN_DEVSTAT: stat, LOADGEN_CGROUP: group } });
		expect(r.dev).toEqual({ reads: 0, merges: 0, bytes: 0, ms: 0 });
		expect(r.minflt).toBeGreaterThan(0);
		expect(r.majflt).toBeGreaterThanOrEqual(0);
		expect(Number(readFileSync(join(group, "cgroup.procs"), "utf8"))).toBeGreaterThan(0);
		await expect(runLoadgen({ session, binary, args: ["seq", "4096", "0", files[0]], env: { LOADGEN_DEVSTAT: join(other, "nope") } })).rejects.toThrow(/nope/);
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
		await expect(runLoadgen({ session, binary, args: ["backend", "all", "0", "0", cfg] })).rejects.toThrow(/not a safetensors/);
	});
});
