import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listOverlayMounts } from "../../src/overlay/listOverlayMounts.js";
import { overlayDown } from "../../src/overlay/overlayDown.js";
import { overlayUp } from "../../src/overlay/overlayUp.js";
import { canMount } from "../support/canMount.js";
import { bytes, isMountPoint, treeDigest, unmountOnFinish } from "./fixtures.js";
import { seedOldContents, setup } from "./overlaySetup.js";

describe.runIf(canMount)("overlayUp", () => {
	it("keeps what the folder held visible through the overlay, beside the view's files", async () => {
		const { lower, target, stateDir, commit } = setup();
		seedOldContents(target);
		const before = treeDigest(target);
		const r = await overlayUp({ target, lower, anyLower: true, stateDir });
		expect(r.alreadyMounted).toBe(false);
		expect(r.moved.files).toBe(Object.values(before).filter((v) => v !== "dir").length);
		expect(isMountPoint(target)).toBe(true);
		const through = treeDigest(target);
		for (const [p, d] of Object.entries(before)) expect(through[p], p).toBe(d);
		// And the view's files are there too.
		expect(readFileSync(join(target, "models--org--model", "refs", "main"), "utf8")).toBe(commit);
		expect(readFileSync(join(target, "models--org--model", "snapshots", commit, "sub", "dir", "tok.json"), "utf8")).toBe("tok");
		// The old contents now live in upper, not in the lower.
		expect(existsSync(join(r.upper, "torch_compile", "x", "kernel.so"))).toBe(true);
		expect(existsSync(join(lower, "torch_compile"))).toBe(false);
	});

	it("is idempotent: a second up with the same lower changes nothing", async () => {
		const { lower, target, stateDir } = setup();
		await overlayUp({ target, lower, anyLower: true, stateDir });
		const again = await overlayUp({ target, lower, anyLower: true, stateDir });
		expect(again.alreadyMounted).toBe(true);
		expect(await listOverlayMounts({ target })).toHaveLength(1);
	});

	it("refuses a second up with a different lower", async () => {
		const { root, lower, target, stateDir } = setup();
		await overlayUp({ target, lower, anyLower: true, stateDir });
		mkdirSync(join(root, "other"));
		await expect(overlayUp({ target, lower: join(root, "other"), anyLower: true, stateDir })).rejects.toMatchObject({ code: "OVERLAY_TARGET_MOUNTED" });
	});

	it("sends hub lock, incomplete, no_exist and compile-cache writes to upper only", async () => {
		const { lower, target, stateDir } = setup();
		const before = treeDigest(lower);
		const r = await overlayUp({ target, lower, anyLower: true, stateDir });
		const repo = join(target, "models--org--model");
		mkdirSync(join(target, ".locks", "models--org--model"), { recursive: true });
		writeFileSync(join(target, ".locks", "models--org--model", "abc.lock"), "");
		writeFileSync(join(repo, "blobs", "deadbeef.incomplete"), "partial");
		mkdirSync(join(repo, ".no_exist", "c0ffee"), { recursive: true });
		writeFileSync(join(repo, ".no_exist", "c0ffee", "generation_config.json"), "");
		mkdirSync(join(target, "torch_compile_cache", "rank0"), { recursive: true });
		writeFileSync(join(target, "torch_compile_cache", "rank0", "graph.bin"), bytes("g", 10_000));
		expect(treeDigest(lower)).toEqual(before);
		expect(existsSync(join(r.upper, ".locks", "models--org--model", "abc.lock"))).toBe(true);
		expect(readFileSync(join(r.upper, "models--org--model", "blobs", "deadbeef.incomplete"), "utf8")).toBe("partial");
		expect(existsSync(join(r.upper, "models--org--model", ".no_exist", "c0ffee", "generation_config.json"))).toBe(true);
		expect(statSync(join(r.upper, "torch_compile_cache", "rank0", "graph.bin")).size).toBe(10_000);
	});

	it("makes flock on a lock file through the overlay exclude a second process", async () => {
		const { lower, target, stateDir } = setup();
		await overlayUp({ target, lower, anyLower: true, stateDir });
		const lock = join(target, ".locks", "models--org--model", "x.lock");
		mkdirSync(join(lock, ".."), { recursive: true });
		writeFileSync(lock, "");
		// The first holder keeps an exclusive lock until its stdin closes.
		const holder = spawn("flock", ["--exclusive", lock, "cat"], { stdio: ["pipe", "ignore", "inherit"] });
		try {
			await waitFor(() => tryLock(lock) === 1);
			expect(tryLock(lock)).toBe(1);
		} finally {
			holder.stdin.end();
			await new Promise((r) => holder.on("close", r));
		}
		expect(tryLock(lock)).toBe(0);
	});

	it("moves old contents across filesystems (copy, compare, remove) when upper is elsewhere", async () => {
		const { root, lower, target, stateDir } = setup();
		seedOldContents(target);
		const before = treeDigest(target);
		const tmpfs = join(root, "tmpfs");
		mkdirSync(tmpfs);
		execFileSync("mount", ["-t", "tmpfs", "-o", "size=64m", "tmpfs", tmpfs]);
		unmountOnFinish(tmpfs);
		const r = await overlayUp({ target, lower, anyLower: true, stateDir, upper: join(tmpfs, "upper"), work: join(tmpfs, "work") });
		expect(r.moved.files).toBeGreaterThan(0);
		const through = treeDigest(target);
		for (const [p, d] of Object.entries(before)) expect(through[p], p).toBe(d);
		expect(treeDigest(join(tmpfs, "upper"))).toEqual(before);
		await overlayDown({ target, stateDir, restore: true });
		expect(treeDigest(target)).toEqual(before);
	});

	it("refuses upper and work on different filesystems before touching the target", async () => {
		const { root, lower, target, stateDir } = setup();
		seedOldContents(target);
		const before = treeDigest(target);
		const tmpfs = join(root, "tmpfs");
		mkdirSync(tmpfs);
		execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", tmpfs]);
		unmountOnFinish(tmpfs);
		await expect(overlayUp({ target, lower, anyLower: true, stateDir, upper: join(tmpfs, "upper"), work: join(root, "work") })).rejects.toMatchObject({
			code: "OVERLAY_UPPER_WORK_FS",
		});
		expect(treeDigest(target)).toEqual(before);
	});

	it("names a missing lower", async () => {
		const { root, target, stateDir } = setup();
		await expect(overlayUp({ target, lower: join(root, "nope"), anyLower: true, stateDir })).rejects.toMatchObject({ code: "OVERLAY_BAD_LOWER" });
	});
});

/** 0 when a non-blocking exclusive flock succeeds, 1 when it is held elsewhere. */
function tryLock(path: string): number {
	try {
		execFileSync("flock", ["--exclusive", "--nonblock", path, "true"]);
		return 0;
	} catch (err) {
		return (err as { status: number }).status;
	}
}

async function waitFor(cond: () => boolean): Promise<void> {
	for (let i = 0; i < 200; i++) {
		if (cond()) return;
		await new Promise((r) => setTimeout(r, 25));
	}
	throw new Error("condition not reached");
}
