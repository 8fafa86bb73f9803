import { execFileSync, spawn } from "node:child_process";
import { constants } from "node:fs";
import { lstat, mkdir, open, readdir, readFile, readlink, rename, rm, stat, statfs, symlink, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { readMountStats } from "../../src/mount/readMountStats.js";
import { canMount } from "../support/canMount.js";
import { makeTwoModelView, mmapSha256, mountForTest, sha256, tempDir } from "./viewFixtures.js";

async function setup(passthrough: boolean) {
	const root = tempDir();
	const fx = makeTwoModelView(root);
	const mnt = join(root, "mnt");
	await mkdir(mnt);
	const mounted = await mountForTest({ mountpoint: mnt, tree: fx.tree, storeDir: fx.storeDir, passthrough });
	return { fx, mnt, mounted };
}

async function errorCode(p: Promise<unknown>): Promise<string | undefined> {
	try {
		await p;
		return undefined;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code;
	}
}

/** Runs a child that prints `<sha256>` for every file it reads, many times over. */
function readerChild(paths: string[], rounds: number): Promise<string[]> {
	const script =
		"import sys,hashlib\n" +
		"r=int(sys.argv[1])\n" +
		"for i in range(r):\n" +
		"  for p in sys.argv[2:]:\n" +
		"    h=hashlib.sha256()\n" +
		"    with open(p,'rb') as f:\n" +
		"      while True:\n" +
		"        b=f.read(1<<20)\n" +
		"        if not b: break\n" +
		"        h.update(b)\n" +
		"    print(h.hexdigest())\n";
	return new Promise((resolve, reject) => {
		const child = spawn("python3", ["-c", script, String(rounds), ...paths]);
		let out = "";
		let err = "";
		child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
		child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
		child.on("error", reject);
		child.on("close", (code) => (code === 0 ? resolve(out.trim().split("\n")) : reject(new Error(`reader failed: ${err}`))));
	});
}

/** backingIdsOpen once it reaches 0 or after 2 s (RELEASE follows close(2) asynchronously). */
async function backingIdsSettled(runtimeDir: string): Promise<number | undefined> {
	let n: number | undefined;
	for (let i = 0; i < 100; i++) {
		n = (await readMountStats({ runtimeDir }))?.backingIdsOpen;
		if (n === 0) break;
		await new Promise((r) => setTimeout(r, 20));
	}
	return n;
}

describe.runIf(canMount)("modelfs-fused", () => {
	describe.each([
		{ mode: "passthrough", passthrough: true },
		{ mode: "fallback", passthrough: false },
	])("$mode", ({ passthrough }) => {
		it("serves every file byte-equal with its blob, by read and by mmap", async () => {
			const { fx, mnt } = await setup(passthrough);
			const paths = [...fx.files.keys()];
			for (const p of paths) expect(sha256(await readFile(join(mnt, p))), p).toBe(sha256(fx.files.get(p) as Buffer));
			// Through the snapshot symlinks too, as a loader resolves them.
			const viaLink = await readFile(join(mnt, "models--org--beta/snapshots", "b".repeat(40), "tokenizer/tokenizer.json"));
			expect(viaLink.equals(fx.files.get("/models--org--beta/blobs/tok") as Buffer)).toBe(true);
			const mm = mmapSha256(paths.map((p) => join(mnt, p)));
			expect(mm).toEqual(paths.map((p) => sha256(fx.files.get(p) as Buffer)));
		});

		it("shows the tree: stat sizes and modes, readlink targets, readdir listings", async () => {
			const { fx, mnt } = await setup(passthrough);
			for (const [p, b] of fx.files) {
				const st = await stat(join(mnt, p));
				expect(st.isFile(), p).toBe(true);
				expect(st.size, p).toBe(b.length);
				expect(st.mode & 0o777).toBe(0o444);
			}
			for (const [p, target] of fx.links) {
				expect((await lstat(join(mnt, p))).isSymbolicLink()).toBe(true);
				expect(await readlink(join(mnt, p)), p).toBe(target);
			}
			for (const [p, names] of fx.dirs) {
				expect((await readdir(join(mnt, p))).sort(), p).toEqual(names);
				const typed = await readdir(join(mnt, p), { withFileTypes: true });
				for (const d of typed) expect(d.isDirectory() || d.isFile() || d.isSymbolicLink()).toBe(true);
			}
			expect((await stat(join(mnt, "models--org--alpha"))).ino).toBe((await stat(join(mnt, "models--org--alpha"))).ino);
			expect(await errorCode(stat(join(mnt, "models--org--nope")))).toBe("ENOENT");
			expect(await errorCode(stat(join(mnt, "models--org--nope")))).toBe("ENOENT");
			const fs = await statfs(mnt);
			expect(fs.bsize).toBeGreaterThan(0);
			// No extended attributes: get answers ENODATA, list is empty.
			const xattr = execFileSync(
				"python3",
				[
					"-c",
					"import os,sys,errno\ntry:\n  os.getxattr(sys.argv[1],'user.x')\nexcept OSError as e: print(errno.errorcode[e.errno])\nprint(os.listxattr(sys.argv[1]))",
					join(mnt, "models--org--alpha/blobs/tok"),
				],
				{ encoding: "utf8" },
			);
			expect(xattr).toBe("ENODATA\n[]\n");
		});

		it("refuses every write with EROFS", async () => {
			const { mnt } = await setup(passthrough);
			const file = join(mnt, "models--org--alpha/blobs/w-alpha");
			expect(await errorCode(writeFile(join(mnt, "new.txt"), "x"))).toBe("EROFS");
			expect(await errorCode(open(file, "r+"))).toBe("EROFS");
			expect(await errorCode(open(file, constants.O_WRONLY | constants.O_TRUNC))).toBe("EROFS");
			expect(await errorCode(mkdir(join(mnt, "d")))).toBe("EROFS");
			expect(await errorCode(unlink(file))).toBe("EROFS");
			expect(await errorCode(rm(join(mnt, "models--org--alpha"), { recursive: true }))).toBe("EROFS");
			expect(await errorCode(rename(file, join(mnt, "moved")))).toBe("EROFS");
			expect(await errorCode(symlink("x", join(mnt, "l")))).toBe("EROFS");
		});

		it("serves 16 processes reading the same and different files at once", async () => {
			const { fx, mnt, mounted } = await setup(passthrough);
			const big = ["/models--org--alpha/blobs/w-alpha", "/models--org--beta/blobs/w-beta", "/models--org--beta/blobs/tok"];
			const jobs = Array.from({ length: 16 }, (_, i) => {
				// Half read one shared file, half read all three in their own order.
				const list = i % 2 === 0 ? [big[0]] : [big[i % 3], big[(i + 1) % 3], big[(i + 2) % 3]];
				return readerChild(
					list.map((p) => join(mnt, p)),
					3,
				).then((sums) => ({ list, sums }));
			});
			for (const { list, sums } of await Promise.all(jobs)) {
				const want = Array.from({ length: 3 }, () => list.map((p) => sha256(fx.files.get(p) as Buffer))).flat();
				expect(sums).toEqual(want);
			}
			// Every open was released: no backing file left behind.
			expect(await backingIdsSettled(mounted.runtimeDir)).toBe(0);
		});

		it("answers EIO for a missing blob only, counts it and logs its path", async () => {
			const { fx, mnt, mounted } = await setup(passthrough);
			expect(await errorCode(readFile(join(mnt, fx.missing)))).toBe("EIO");
			// The rest of the view keeps working.
			const ok = "/models--org--alpha/blobs/cfg-alpha";
			expect((await readFile(join(mnt, ok))).equals(fx.files.get(ok) as Buffer)).toBe(true);
			expect((await stat(join(mnt, fx.missing))).size).toBe(10);
			const stats = await readMountStats({ runtimeDir: mounted.runtimeDir });
			expect(stats?.blobErrors).toBe(1);
			expect(stats?.errors.EIO).toBeGreaterThanOrEqual(1);
			const log = await readFile(join(mounted.runtimeDir, "daemon.log"), "utf8");
			expect(log).toContain(`path=${fx.missing}`);
		});

		it(`reports its read mode in the counters (${passthrough ? "passthrough opens, no daemon reads" : "daemon reads, no passthrough"})`, async () => {
			const { fx, mnt, mounted } = await setup(passthrough);
			const p = "/models--org--beta/blobs/w-beta";
			expect((await readFile(join(mnt, p))).equals(fx.files.get(p) as Buffer)).toBe(true);
			const stats = await readMountStats({ runtimeDir: mounted.runtimeDir });
			expect(stats).not.toBeNull();
			if (!stats) return;
			expect(stats.passthrough).toBe(passthrough);
			expect(stats.opens).toBeGreaterThanOrEqual(1);
			if (passthrough) {
				expect(stats.passthroughOpens).toBeGreaterThanOrEqual(1);
				expect(stats.fallbackReads).toBe(0);
				expect(stats.requests.READ ?? 0).toBe(0);
			} else {
				expect(stats.passthroughOpens).toBe(0);
				expect(stats.fallbackReads).toBeGreaterThan(0);
				expect(stats.fallbackBytes).toBeGreaterThanOrEqual(fx.files.get(p)?.length ?? 0);
			}
			expect(stats.requests.INIT).toBe(1);
			expect(stats.latency.count).toBeGreaterThan(0);
			expect(stats.latency.counts.reduce((a, b) => a + b, 0)).toBe(stats.latency.count);
		});
	});

	it("keeps one backing id per inode while it is open and closes it on the last release", async () => {
		const { fx, mnt, mounted } = await setup(true);
		const p = join(mnt, "models--org--alpha/blobs/w-alpha");
		const a = await open(p, "r");
		const b = await open(p, "r");
		try {
			const buf = Buffer.alloc(4096);
			await b.read(buf, 0, 4096, 0);
			expect(buf.equals((fx.files.get("/models--org--alpha/blobs/w-alpha") as Buffer).subarray(0, 4096))).toBe(true);
			expect((await readMountStats({ runtimeDir: mounted.runtimeDir }))?.backingIdsOpen).toBe(1);
		} finally {
			await a.close();
			await b.close();
		}
		expect(await backingIdsSettled(mounted.runtimeDir)).toBe(0);
	});

	it("serves a store that passthrough cannot stack on (overlayfs: ELOOP) from the daemon, per open", async () => {
		const root = tempDir();
		const fx = makeTwoModelView(root);
		const ovl = join(root, "ovl");
		for (const d of ["u", "w", "m"]) await mkdir(join(ovl, d), { recursive: true });
		execFileSync("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${fx.storeDir},upperdir=${join(ovl, "u")},workdir=${join(ovl, "w")}`, join(ovl, "m")]);
		onTestFinished(() => {
			execFileSync("umount", ["-l", join(ovl, "m")]);
		});
		const mnt = join(root, "mnt");
		await mkdir(mnt);
		const mounted = await mountForTest({ mountpoint: mnt, tree: fx.tree, storeDir: join(ovl, "m") });
		for (const [p, b] of fx.files) expect((await readFile(join(mnt, p))).equals(b), p).toBe(true);
		const stats = await readMountStats({ runtimeDir: mounted.runtimeDir });
		expect(stats?.passthrough).toBe(true);
		expect(stats?.backingOpenFailures).toBeGreaterThan(0);
		expect(stats?.fallbackOpens).toBeGreaterThan(0);
		expect(stats?.passthroughOpens).toBe(0);
		expect(await readFile(join(mounted.runtimeDir, "daemon.log"), "utf8")).toMatch(/BACKING_OPEN: Too many levels of symbolic links/);
	});
});
