import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, open, readFile, statfs, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { listModelfsMounts } from "../../src/mount/listModelfsMounts.js";
import { readMountStats } from "../../src/mount/readMountStats.js";
import { startMount } from "../../src/mount/startMount.js";
import { stopMount } from "../../src/mount/stopMount.js";
import { isProcessAlive } from "../../src/system/isProcessAlive.js";
import { cleanupMount, isMountPoint, makeTwoModelView, mountForTest, tempDir } from "../native/viewFixtures.js";
import { canMount } from "../support/canMount.js";

async function setup() {
	const root = tempDir("modelfs-mount-");
	const fx = makeTwoModelView(root);
	const mnt = join(root, "mnt");
	const runRoot = join(root, "run");
	await mkdir(mnt);
	return { root, fx, mnt, runRoot };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
	try {
		await p;
		return undefined;
	} catch (err) {
		return (err as { code?: string }).code;
	}
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
	const end = Date.now() + ms;
	while (Date.now() < end) {
		if (await cond()) return true;
		await new Promise((r) => setTimeout(r, 20));
	}
	return cond();
}

const W = "/models--org--beta/blobs/w-beta";

/** This test's mount (other engineers' tests mount views at the same time). */
async function mine(mnt: string, runRoot: string) {
	const m = (await listModelfsMounts({ runRoot })).filter((x) => x.mountpoint === mnt).pop();
	if (!m) throw new Error(`${mnt} is not mounted`);
	return m;
}

describe.runIf(canMount)("startMount", () => {
	it("mounts, records the mount and lists it as live", async () => {
		const { fx, mnt, runRoot } = await setup();
		const m = await mountForTest({ mountpoint: mnt, tree: fx.tree, storeDir: fx.storeDir, runRoot, view: { layout: "hf" } });
		expect(m.image.files).toBe(fx.files.size + 1);
		const listed = (await listModelfsMounts({ runRoot })).find((x) => x.mountpoint === mnt);
		expect(listed?.state).toBe("live");
		expect(listed?.holderPid).toBe(m.holderPid);
		expect(listed?.daemonPid).not.toBeNull();
		expect(listed?.options.split(",")).toContain("ro");
		expect(listed?.record?.storeDir).toBe(fx.storeDir);
		expect(listed?.record?.view).toEqual({ layout: "hf" });
	});

	it("refuses a missing mountpoint, a file, a live view and another filesystem there", async () => {
		const { root, fx, mnt, runRoot } = await setup();
		const base = { tree: fx.tree, storeDir: fx.storeDir, runRoot };
		expect(await codeOf(startMount({ ...base, mountpoint: join(root, "nope") }))).toBe("MOUNT_NO_MOUNTPOINT");
		await writeFile(join(root, "file"), "x");
		expect(await codeOf(startMount({ ...base, mountpoint: join(root, "file") }))).toBe("MOUNT_NOT_DIR");
		expect(await codeOf(startMount({ ...base, mountpoint: mnt, storeDir: join(root, "nostore") }))).toBe("STORE_NOT_FOUND");
		await mountForTest({ ...base, mountpoint: mnt });
		expect(await codeOf(startMount({ ...base, mountpoint: mnt }))).toBe("MOUNT_BUSY");
		const other = join(root, "tmpfs");
		await mkdir(other);
		execFileSync("mount", ["-t", "tmpfs", "tmpfs", other]);
		onTestFinished(() => {
			execFileSync("umount", [other]);
		});
		expect(await codeOf(startMount({ ...base, mountpoint: other }))).toBe("MOUNT_BUSY");
	});

	it("refuses a second mount of the same point started at the same time", async () => {
		const { fx, mnt, runRoot } = await setup();
		onTestFinished(() => cleanupMount(mnt, runRoot));
		const results = await Promise.allSettled([0, 1].map(() => startMount({ mountpoint: mnt, tree: fx.tree, storeDir: fx.storeDir, runRoot })));
		expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
		const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
		expect(refused.reason.code).toBe("MOUNT_BUSY");
		expect((await listModelfsMounts({ runRoot })).filter((x) => x.mountpoint === mnt)).toHaveLength(1);
	});

	it("after kill -9 of holder and daemon, detects the dead mount (ENOTCONN), detaches it and mounts again", async () => {
		const { fx, mnt, runRoot } = await setup();
		await mountForTest({ mountpoint: mnt, tree: fx.tree, storeDir: fx.storeDir, runRoot });
		const before = await mine(mnt, runRoot);
		for (const pid of [before.holderPid, before.daemonPid]) process.kill(pid as number, "SIGKILL");
		expect(await waitFor(() => !isProcessAlive(before.holderPid as number) && !isProcessAlive(before.daemonPid as number))).toBe(true);
		// The first request may still see the abort itself (ECONNABORTED).
		expect(await waitFor(async () => (await codeOf(statfs(mnt))) === "ENOTCONN")).toBe(true);
		expect((await listModelfsMounts({ runRoot })).find((x) => x.mountpoint === mnt)?.state).toBe("dead");

		const again = await startMount({ mountpoint: mnt, tree: fx.tree, storeDir: fx.storeDir, runRoot });
		expect(again.detachedDeadMount).toBe(true);
		expect((await readFile(join(mnt, W))).equals(fx.files.get(W) as Buffer)).toBe(true);
		const mounts = (await listModelfsMounts({ runRoot })).filter((x) => x.mountpoint === mnt);
		expect(mounts.map((x) => x.state)).toEqual(["live"]);
	});

	it("restarts a killed daemon from the holder; open files and new opens keep working", async () => {
		const { fx, mnt, runRoot } = await setup();
		const m = await mountForTest({ mountpoint: mnt, tree: fx.tree, storeDir: fx.storeDir, runRoot });
		const held = await open(join(mnt, W), "r");
		try {
			const first = await mine(mnt, runRoot);
			process.kill(first.daemonPid as number, "SIGKILL");
			expect(await waitFor(async () => ((await readMountStats({ runtimeDir: m.runtimeDir }))?.daemonStarts ?? 0) >= 2)).toBe(true);
			const want = fx.files.get(W) as Buffer;
			const buf = Buffer.alloc(want.length);
			const { bytesRead } = await held.read(buf, 0, buf.length, 0);
			expect(bytesRead).toBe(want.length);
			expect(buf.equals(want)).toBe(true);
			expect((await readFile(join(mnt, "/models--org--alpha/blobs/tok"))).equals(fx.files.get("/models--org--alpha/blobs/tok") as Buffer)).toBe(true);
			const now = await mine(mnt, runRoot);
			expect(now.state).toBe("live");
			expect(now.daemonPid).not.toBe(first.daemonPid);
		} finally {
			await held.close();
		}
	});

	it.each([
		{ mode: "passthrough", passthrough: true },
		{ mode: "fallback", passthrough: false },
	])("keeps readers error-free while the daemon is SIGKILLed again and again ($mode; holder restarts it, RESEND)", async ({ passthrough }) => {
		const { fx, mnt, runRoot } = await setup();
		const m = await mountForTest({ mountpoint: mnt, tree: fx.tree, storeDir: fx.storeDir, runRoot, passthrough });
		const files = ["/models--org--alpha/blobs/w-alpha", W, "/models--org--beta/blobs/tok"];
		// open/read/close loops, each checked against its blob, until told to stop.
		const script =
			"import sys,hashlib,os\n" +
			"want={p:h for p,h in zip(sys.argv[1::2],sys.argv[2::2])}\n" +
			"n=0;bad=0\n" +
			"while not os.path.exists(sys.argv[-1]+'.stop') or n<3:\n" +
			"  for p,h in want.items():\n" +
			"    try:\n" +
			"      with open(p,'rb') as f: d=f.read()\n" +
			"      if hashlib.sha256(d).hexdigest()!=h: bad+=1\n" +
			"    except OSError as e:\n" +
			"      bad+=1; print('error',p,e,flush=True)\n" +
			"  n+=1\n" +
			"print('rounds',n,'bad',bad)\n";
		const { spawn } = await import("node:child_process");
		const { createHash } = await import("node:crypto");
		const args = files.flatMap((p) => [
			join(mnt, p),
			createHash("sha256")
				.update(fx.files.get(p) as Buffer)
				.digest("hex"),
		]);
		const stopFile = join(mnt, "..", "readers");
		const readers = Array.from({ length: 3 }, () => {
			const child = spawn("python3", ["-c", script, ...args, stopFile]);
			let out = "";
			child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
			onTestFinished(() => {
				if (child.exitCode === null) child.kill("SIGKILL");
			});
			return new Promise<string>((r) => child.on("close", () => r(out)));
		});
		for (let kill = 0; kill < 4; kill++) {
			await new Promise((r) => setTimeout(r, 250));
			const pid = (await mine(mnt, runRoot)).daemonPid as number;
			process.kill(pid, "SIGKILL");
			expect(await waitFor(async () => ((await readMountStats({ runtimeDir: m.runtimeDir }))?.daemonStarts ?? 0) >= kill + 2)).toBe(true);
		}
		await writeFile(`${stopFile}.stop`, "");
		for (const out of await Promise.all(readers)) {
			expect(out).not.toContain("error");
			expect(out).toMatch(/rounds \d+ bad 0\n$/);
		}
		expect((await mine(mnt, runRoot)).state).toBe("live");
	});
});

describe.runIf(canMount)("stopMount", () => {
	it("unmounts and leaves no process, mount or runtime folder behind", async () => {
		const { fx, mnt, runRoot } = await setup();
		const m = await mountForTest({ mountpoint: mnt, tree: fx.tree, storeDir: fx.storeDir, runRoot });
		const { holderPid, daemonPid } = await mine(mnt, runRoot);
		await readFile(join(mnt, W));
		const stopped = await stopMount({ mountpoint: mnt, runRoot });
		expect(stopped.stillRunning).toEqual([]);
		expect(isMountPoint(mnt)).toBe(false);
		expect(isProcessAlive(holderPid as number)).toBe(false);
		expect(isProcessAlive(daemonPid as number)).toBe(false);
		expect(existsSync(m.runtimeDir)).toBe(false);
		expect(await codeOf(stopMount({ mountpoint: mnt, runRoot }))).toBe("MOUNT_NOT_MOUNTED");
	});

	it("refuses a busy view, and --lazy detaches it; the daemon ends with the last open file", async () => {
		const { fx, mnt, runRoot } = await setup();
		await mountForTest({ mountpoint: mnt, tree: fx.tree, storeDir: fx.storeDir, runRoot });
		const { daemonPid } = await mine(mnt, runRoot);
		const held = await open(join(mnt, W), "r");
		let closed = false;
		onTestFinished(async () => {
			if (!closed) await held.close();
		});
		expect(await codeOf(stopMount({ mountpoint: mnt, runRoot }))).toBe("MOUNT_BUSY");
		const stopped = await stopMount({ mountpoint: mnt, runRoot, lazy: true });
		expect(isMountPoint(mnt)).toBe(false);
		expect(stopped.stillRunning).toContain(daemonPid);
		const buf = Buffer.alloc(16);
		await held.read(buf, 0, 16, 0);
		expect(buf.equals((fx.files.get(W) as Buffer).subarray(0, 16))).toBe(true);
		await held.close();
		closed = true;
		expect(await waitFor(() => !isProcessAlive(daemonPid as number), 10_000)).toBe(true);
	});
});
