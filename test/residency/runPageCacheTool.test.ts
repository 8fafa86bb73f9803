import { execFileSync, spawn } from "node:child_process";
import { closeSync, fsyncSync, openSync, readSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runPageCacheTool } from "../../src/residency/runPageCacheTool.js";
import { bytes, tempDir } from "../overlay/fixtures.js";

function writeSynced(path: string, data: Buffer): void {
	writeFileSync(path, data);
	const fd = openSync(path, "r");
	fsyncSync(fd);
	closeSync(fd);
}

function readRange(path: string, start: number, length: number): void {
	const fd = openSync(path, "r");
	const buf = Buffer.alloc(length);
	readSync(fd, buf, 0, length, start);
	closeSync(fd);
}

function fincore(path: string): number | null {
	try {
		return Number(execFileSync("fincore", ["--bytes", "--noheadings", "--output", "RES", path], { encoding: "utf8" }).trim());
	} catch {
		return null;
	}
}

describe("runPageCacheTool", () => {
	it("measures what is cached as fincore does, and evicts clean pages", async () => {
		const dir = realpathSync(tempDir("modelfs-pc-"));
		const file = join(dir, "w.bin");
		writeSynced(file, bytes("w", 8 << 20));
		const [evicted] = await runPageCacheTool({ mode: "evict", paths: [file] });
		expect(evicted).toEqual({ path: file, size: 8 << 20, resident: 0, error: null });
		readRange(file, 2 << 20, 1 << 20);
		const [part] = await runPageCacheTool({ mode: "resident", paths: [file] });
		// Readahead may bring in more than was read, never less, never all of it here.
		expect(part.resident).toBeGreaterThanOrEqual(1 << 20);
		expect(part.resident).toBeLessThan(8 << 20);
		const other = fincore(file);
		if (other !== null) expect(part.resident).toBe(other);
		readRange(file, 0, 8 << 20);
		expect((await runPageCacheTool({ mode: "resident", paths: [file] }))[0].resident).toBe(8 << 20);
		expect((await runPageCacheTool({ mode: "evict", paths: [file] }))[0].resident).toBe(0);
	});

	it("counts a partial last page only up to the end of the file, and answers per path", async () => {
		const dir = realpathSync(tempDir("modelfs-pc-"));
		const small = join(dir, "small");
		writeFileSync(small, bytes("s", 5000));
		readRange(small, 0, 5000);
		const r = await runPageCacheTool({ mode: "resident", paths: [small, join(dir, "missing"), dir] });
		expect(r).toEqual([
			{ path: small, size: 5000, resident: 5000, error: null },
			{ path: join(dir, "missing"), size: null, resident: null, error: "ENOENT" },
			{ path: dir, size: null, resident: null, error: "EISDIR" },
		]);
	});

	it("leaves the pages a process maps: evict drops only what no loader holds", async () => {
		const dir = realpathSync(tempDir("modelfs-pc-"));
		const file = join(dir, "mapped.bin");
		writeSynced(file, bytes("m", 4 << 20));
		const holder = spawn(
			"python3",
			[
				"-c",
				"import mmap,sys\nf=open(sys.argv[1],'rb')\nm=mmap.mmap(f.fileno(),0,prot=mmap.PROT_READ)\ns=sum(m[i] for i in range(0,len(m),4096))\nprint('mapped',flush=True)\nsys.stdin.read()",
				file,
			],
			{
				stdio: ["pipe", "pipe", "inherit"],
			},
		);
		try {
			await new Promise<void>((resolve, reject) => {
				holder.stdout.on("data", (d: Buffer) => d.toString().includes("mapped") && resolve());
				holder.on("error", reject);
				holder.on("exit", (code) => reject(new Error(`holder exited ${code}`)));
			});
			expect((await runPageCacheTool({ mode: "evict", paths: [file] }))[0].resident).toBe(4 << 20);
		} finally {
			holder.stdin.end();
			await new Promise((r) => holder.on("close", r));
		}
		expect((await runPageCacheTool({ mode: "evict", paths: [file] }))[0].resident).toBe(0);
	});
});
