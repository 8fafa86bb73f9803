import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { fixtureBytes, makeHfCache } from "../ingest/local/importFixtures.js";
import { startChild } from "../store/childProcess.js";
import { tempDir } from "../store/storeFixtures.js";
import { canMount } from "../support/canMount.js";
import { cliPath, repoRoot, runCli } from "../support/runCli.js";

const C1 = "a".repeat(40);

function cacheWith(dir: string, name: string, weightMiB: number, seed = 1, shards = 1): string {
	makeHfCache(dir, [
		{
			name,
			commits: [
				{
					commit: C1,
					files: [
						{ path: "config.json", content: `{"name":"${name}"}` },
						...Array.from({ length: shards }, (_, i) => ({ path: `model-${i}.safetensors`, content: fixtureBytes(weightMiB << 20, seed + i), lfs: true })),
					],
				},
			],
			refs: { main: C1 },
		},
	]);
	return dir;
}

/** Mounts a fresh ext4 of `size` (a loop device over a file) at a new dir; unmounted when the test ends. */
function loopExt4(size: string): string {
	const dir = tempDir();
	const image = `${dir}.img`;
	onTestFinished(() => {
		spawnSync("rm", ["-f", image]);
	});
	for (const [cmd, ...args] of [
		["truncate", "-s", size, image],
		["mkfs.ext4", "-q", "-F", image],
		["mount", "-o", "loop", image, dir],
	]) {
		const r = spawnSync(cmd, args);
		if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
	}
	onTestFinished(() => {
		spawnSync("umount", [dir]);
	});
	return dir;
}

/** Mounts a tmpfs of `size` at a new dir; unmounted (then removed) when the test ends. */
function tmpfs(size: string): string {
	const dir = tempDir();
	const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "modelfs-test", dir]);
	if (r.status !== 0) throw new Error(`mount tmpfs failed: ${r.stderr}`);
	onTestFinished(() => {
		spawnSync("umount", [dir]);
	});
	return dir;
}

describe("modelfs import", () => {
	it("imports a cache and prints a summary; --json gives the report", async () => {
		const dir = tempDir();
		const cache = cacheWith(join(dir, "cache"), "org/m", 1);
		const store = join(dir, "store");
		expect((await runCli(["init", "--store", store])).code).toBe(0);
		const r = await runCli(["import", cache, "--store", store]);
		expect(r.code).toBe(0);
		expect(r.stdout).toContain(`org/m@${C1} (main): 2 files`);
		const j = await runCli(["import", cache, "--store", store, "--json"]);
		expect(JSON.parse(j.stdout)).toMatchObject({ files: 2, bytesCopied: 0, skipped: [] });
		expect(j.stderr).toBe("");
	});

	it("exits 2 with a clear message for a missing path or a folder that is not a cache", async () => {
		const dir = tempDir();
		const store = join(dir, "store");
		await runCli(["init", "--store", store]);
		const r = await runCli(["import", join(dir, "nope"), "--store", store]);
		expect(r.code).toBe(2);
		expect(r.stderr).toContain(`modelfs: ${join(dir, "nope")} does not exist`);
		mkdirSync(join(dir, "plain"));
		const r2 = await runCli(["import", join(dir, "plain"), "--store", store]);
		expect(r2.code).toBe(2);
		expect(r2.stderr).toMatch(/not a Hugging Face cache[\s\S]*hint: .*--as/);
	});

	it("creates the store when it does not exist, as ingest does, and says so", async () => {
		const dir = tempDir();
		const r = await runCli(["import", cacheWith(join(dir, "cache"), "org/m", 1), "--store", join(dir, "nostore")]);
		expect(r.code, r.stderr).toBe(0);
		expect(r.stderr).toContain(`modelfs: created a new store at ${join(dir, "nostore")}`);
		expect(r.stdout).toContain("org/m@");
	});

	it("imports a plain folder with --as org/name@rev", async () => {
		const dir = tempDir();
		mkdirSync(join(dir, "m"));
		writeFileSync(join(dir, "m", "config.json"), "{}");
		const store = join(dir, "store");
		await runCli(["init", "--store", store]);
		const r = await runCli(["import", join(dir, "m"), "--as", "me/model@v2", "--store", store]);
		expect(r.code).toBe(0);
		expect(r.stdout).toContain("me/model@v2 (main): 1 files");
		expect((await runCli(["import", join(dir, "m"), "--as", "bad--name", "--store", store])).code).toBe(2);
	});

	it("a second importer fails naming the writer's pid, or waits with --wait", async () => {
		const dir = tempDir();
		const cache = cacheWith(join(dir, "cache"), "org/m", 1);
		const store = join(dir, "store");
		await runCli(["init", "--store", store]);
		const holder = startChild(["hold", store]);
		await holder.line;
		const r = await runCli(["import", cache, "--store", store]);
		expect(r.code).toBe(4);
		expect(r.stderr).toContain(`pid ${holder.child.pid}`);
		expect(r.stderr).toContain("--wait");
		const waiting = runCli(["import", cache, "--store", store, "--wait", "--json"]);
		setTimeout(() => holder.child.stdin!.end(), 1000);
		const w = await waiting;
		expect(w.code).toBe(0);
		expect(JSON.parse(w.stdout).files).toBe(2);
	});

	it("two importers at once (--wait) both finish and shared weights are stored once", async () => {
		const dir = tempDir();
		const c1 = cacheWith(join(dir, "c1"), "org/a", 8, 5);
		const c2 = cacheWith(join(dir, "c2"), "org/b", 8, 5);
		const store = join(dir, "store");
		await runCli(["init", "--store", store]);
		const [r1, r2] = await Promise.all([runCli(["import", c1, "--store", store, "--wait"]), runCli(["import", c2, "--store", store, "--wait"])]);
		expect([r1.code, r2.code]).toEqual([0, 0]);
		const ls = JSON.parse((await runCli(["ls", "--store", store, "--json"])).stdout);
		expect(ls.map((r: { name: string }) => r.name)).toEqual(["org/a", "org/b"]);
		const df = JSON.parse((await runCli(["df", "--store", store, "--json"])).stdout);
		expect(df.storedBytes).toBeLessThan((8 << 20) + 1000);
		expect(df.logicalBytes).toBeGreaterThan(2 * (8 << 20));
	});

	it("after a SIGKILL mid-import no partial snapshot is listed, and the next run cleans tmp/ and completes", async () => {
		const dir = tempDir();
		const cache = cacheWith(join(dir, "cache"), "org/big", 48, 9, 4);
		const store = join(dir, "store");
		await runCli(["init", "--store", store]);
		const child = spawn(process.execPath, ["--import", "tsx", cliPath, "import", cache, "--store", store, "--quiet"], { cwd: repoRoot, stdio: "ignore" });
		onTestFinished(() => {
			if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
		});
		const exited = new Promise((r) => child.on("close", r));
		// Kill it once it is writing blobs into tmp/.
		const tmp = join(store, "tmp");
		for (let i = 0; i < 3000 && child.exitCode === null; i++) {
			if (existsSync(tmp) && readdirSync(tmp).some((n) => n.startsWith("blob-"))) break;
			await new Promise((r) => setTimeout(r, 10));
		}
		child.kill("SIGKILL");
		await exited;
		expect(child.signalCode).toBe("SIGKILL");
		// What a killed writer leaves behind (its half-written blob may just have been renamed in).
		writeFileSync(join(tmp, `blob-${child.pid}-0-deadbeef`), "half a blob");
		expect(JSON.parse((await runCli(["ls", "--store", store, "--json"])).stdout)).toEqual([]);
		const again = await runCli(["import", cache, "--store", store, "--json"]);
		expect(again.code).toBe(0);
		expect(JSON.parse(again.stdout).files).toBe(5);
		expect(readdirSync(tmp)).toEqual([]);
		const v = await runCli(["verify", "--full", "--store", store]);
		expect(v.code).toBe(0);
	});

	it("Ctrl-C (SIGINT) stops with exit 130, removes its tmp files and lists no partial snapshot", async () => {
		const dir = tempDir();
		const cache = cacheWith(join(dir, "cache"), "org/big", 48, 21, 4);
		const store = join(dir, "store");
		await runCli(["init", "--store", store]);
		const child = spawn(process.execPath, ["--import", "tsx", cliPath, "import", cache, "--store", store, "--quiet"], { cwd: repoRoot, stdio: ["ignore", "ignore", "pipe"] });
		onTestFinished(() => {
			if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
		});
		let stderr = "";
		child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
		const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
		const tmp = join(store, "tmp");
		for (let i = 0; i < 3000 && child.exitCode === null; i++) {
			if (existsSync(tmp) && readdirSync(tmp).some((n) => n.startsWith("blob-"))) break;
			await new Promise((r) => setTimeout(r, 10));
		}
		child.kill("SIGINT");
		expect(await exited).toBe(130);
		expect(stderr).toContain("interrupted");
		expect(readdirSync(tmp)).toEqual([]);
		expect(existsSync(join(store, "lock"))).toBe(false);
		expect(JSON.parse((await runCli(["ls", "--store", store, "--json"])).stdout)).toEqual([]);
	});

	describe.runIf(canMount)("on a full or read-only filesystem", () => {
		// tmpfs fills in the page cache; ext4 (a loop device) fails where blocks are allocated, and its journal and index pages compete for the last ones.
		it.each(["tmpfs", "ext4"])("a full disk (ENOSPC, %s) stops the import with a clear message, cleans tmp/ and leaves the index as it was", async (fs) => {
			const dir = tempDir();
			const cache = cacheWith(join(dir, "cache"), "org/huge", 6, 3, 2);
			const store = join(fs === "tmpfs" ? tmpfs("8m") : loopExt4("12m"), "store");
			await runCli(["init", "--store", store]);
			const small = cacheWith(join(dir, "small"), "org/small", 1, 77);
			expect((await runCli(["import", small, "--store", store])).code).toBe(0);
			const before = JSON.parse((await runCli(["ls", "--store", store, "--json"])).stdout);
			const blobsBefore = readdirSync(join(store, "objects")).flatMap((p) => readdirSync(join(store, "objects", p)));
			const r = await runCli(["import", cache, "--store", store]);
			expect(r.code).toBe(4);
			expect(r.stderr).toContain(`no space left in the store ${store}`);
			expect(r.stderr).toContain("hint:");
			// Only modelfs's own lines: no raw LMDB or Node error before them.
			expect(r.stderr).not.toMatch(/Input\/output error|MDB_|^\s+at /m);
			expect(readdirSync(join(store, "tmp"))).toEqual([]);
			expect(JSON.parse((await runCli(["ls", "--store", store, "--json"])).stdout)).toEqual(before);
			expect(readdirSync(join(store, "objects")).flatMap((p) => readdirSync(join(store, "objects", p)))).toEqual(blobsBefore);
			const v = await runCli(["verify", "--full", "--store", store, "--json"]);
			expect(JSON.parse(v.stdout).blobs).toBe(blobsBefore.length);
		});

		it("a store on a read-only mount serves ls, info, df and verify; import says it is read-only", async () => {
			const dir = tempDir();
			const mnt = tmpfs("64m");
			const store = join(mnt, "store");
			await runCli(["init", "--store", store]);
			const cache = cacheWith(join(dir, "cache"), "org/m", 1);
			expect((await runCli(["import", cache, "--store", store])).code).toBe(0);
			expect(spawnSync("mount", ["-o", "remount,ro", mnt]).status).toBe(0);
			const ls = await runCli(["ls", "--store", store, "--json"]);
			expect(ls.code).toBe(0);
			expect(JSON.parse(ls.stdout)[0].name).toBe("org/m");
			const info = await runCli(["info", "org/m", "--store", store]);
			expect(info.code).toBe(0);
			expect(info.stdout).toContain("2 files");
			expect((await runCli(["df", "--store", store])).code).toBe(0);
			const v = await runCli(["verify", "--full", "--store", store, "--json"]);
			expect(v.code).toBe(0);
			expect(JSON.parse(v.stdout)).toMatchObject({ blobs: 2, hashed: 2, problems: [] });
			const imp = await runCli(["import", cache, "--store", store]);
			expect(imp.code).toBe(4);
			expect(imp.stderr).toContain("not writable");
		});
	});
});
