import { existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isMountPoint, tempDir, treeDigest, unmountOnFinish, writeHubCache } from "../overlay/fixtures.js";
import { canMount } from "../support/canMount.js";
import { runCli } from "../support/runCli.js";

describe.runIf(canMount)("modelfs overlay", () => {
	it("up keeps the folder's files, is idempotent, and down --restore brings them back", async () => {
		const root = realpathSync(tempDir());
		const lower = join(root, "view");
		writeHubCache({ dir: lower, repo: "o/m", files: [{ path: "a", bytes: Buffer.from("a") }] });
		const target = join(root, "cache");
		mkdirSync(join(target, "vllm"), { recursive: true });
		writeFileSync(join(target, "vllm", "k"), "kernel");
		const before = treeDigest(target);
		unmountOnFinish(target);
		const state = ["--state-dir", join(root, "state")];
		const up = await runCli(["overlay", "up", target, "--lower", lower, "--any-lower", ...state]);
		expect(up.code, up.stderr).toBe(0);
		expect(up.stdout).toContain(`${target}: overlay mounted`);
		expect(up.stdout).toContain("moved 1 existing files");
		const again = await runCli(["overlay", "up", target, "--lower", lower, "--any-lower", ...state, "--json"]);
		expect(JSON.parse(again.stdout)).toMatchObject({ alreadyMounted: true, lower });
		const down = await runCli(["overlay", "down", target, "--restore", ...state]);
		expect(down.code, down.stderr).toBe(0);
		expect(down.stdout).toContain("restored 1 files");
		expect(isMountPoint(target)).toBe(false);
		expect(treeDigest(target)).toEqual(before);
	});

	it("takes `modelfs overlay <target> --lower <view>` as overlay up", async () => {
		const root = realpathSync(tempDir());
		const lower = join(root, "view");
		writeHubCache({ dir: lower, repo: "o/m", files: [{ path: "a", bytes: Buffer.from("a") }] });
		const target = join(root, "cache");
		unmountOnFinish(target);
		const r = await runCli(["overlay", target, "--create", "--lower", lower, "--any-lower", "--state-dir", join(root, "state")]);
		expect(r.code, r.stderr).toBe(0);
		expect(isMountPoint(target)).toBe(true);
	});

	it("exits 2 with the reason for a missing lower", async () => {
		const root = realpathSync(tempDir());
		const r = await runCli(["overlay", "up", join(root, "t"), "--lower", join(root, "nope"), "--state-dir", join(root, "s")]);
		expect(r.code).toBe(2);
		expect(r.stderr).toMatch(/modelfs: --lower .* does not exist\nhint: mount the view first/);
	});

	it("refuses a target that does not exist unless --create, naming the flag", async () => {
		const root = realpathSync(tempDir());
		const lower = join(root, "view");
		writeHubCache({ dir: lower, repo: "o/m", files: [{ path: "a", bytes: Buffer.from("a") }] });
		const typo = join(root, "spark-vllm-dokcer", "cache");
		unmountOnFinish(typo);
		const r = await runCli(["overlay", "up", typo, "--lower", lower, "--any-lower", "--state-dir", join(root, "state")]);
		expect(r.code).toBe(2);
		expect(r.stderr).toContain(`modelfs: the target ${typo} does not exist`);
		expect(r.stderr).toContain("--create");
		expect(existsSync(typo)).toBe(false);
	});

	it("refuses a lower that is not in a live modelfs view (a plain folder, an empty mountpoint) unless --any-lower", async () => {
		const root = realpathSync(tempDir());
		const target = join(root, "cache");
		mkdirSync(target);
		unmountOnFinish(target);
		const emptyMountpoint = join(root, "run-modelfs-hf");
		mkdirSync(emptyMountpoint);
		const r = await runCli(["overlay", "up", target, "--lower", emptyMountpoint, "--state-dir", join(root, "state")]);
		expect(r.code).toBe(2);
		expect(r.stderr).toContain(`modelfs: --lower ${emptyMountpoint} is not in a modelfs view`);
		expect(r.stderr).toContain("--any-lower");
		expect(isMountPoint(target)).toBe(false);
	});
});

describe.runIf(canMount)("modelfs overlay unhide and check", () => {
	it("check exits 5 naming the hidden repo and the command; unhide --dry-run lists it, unhide clears it", async () => {
		const root = realpathSync(tempDir());
		const lower = join(root, "view");
		writeHubCache({ dir: lower, repo: "o/m", files: [{ path: "a", bytes: Buffer.from("a") }] });
		const target = join(root, "cache");
		unmountOnFinish(target);
		const state = ["--state-dir", join(root, "state")];
		expect((await runCli(["overlay", "up", target, "--create", "--lower", lower, "--any-lower", ...state])).code).toBe(0);
		rmSync(join(target, "models--o--m"), { recursive: true });
		const check = await runCli(["check", target]);
		expect(check.code).toBe(5);
		expect(check.stdout).toContain(`FAIL models--o--m: hidden by a whiteout in the upper layer`);
		expect(check.stderr).toContain(`hint: the upper layer hides 1 of the view's entries: \`modelfs overlay unhide ${target}\` shows them again`);
		const dry = await runCli(["overlay", "unhide", target, "--dry-run", ...state]);
		expect(dry.stdout).toBe(`hidden models--o--m (whiteout over a dir)\nwould unhide 1 entry in ${target}\n`);
		const r = await runCli(["overlay", "unhide", target, ...state]);
		expect(r.code, r.stderr).toBe(0);
		expect(r.stdout).toBe(`unhidden models--o--m (whiteout over a dir)\nunhid 1 entry in ${target}\n`);
		expect((await runCli(["check", target])).code).toBe(0);
	});

	it("down warns that the folder will lack the view's files, and down --materialize keeps them", async () => {
		const root = realpathSync(tempDir());
		const lower = join(root, "view");
		writeHubCache({ dir: lower, repo: "o/m", files: [{ path: "w.bin", bytes: Buffer.alloc(5000, 7) }] });
		const a = join(root, "a");
		const b = join(root, "b");
		unmountOnFinish(a);
		unmountOnFinish(b);
		const state = ["--state-dir", join(root, "state")];
		await runCli(["overlay", "up", a, "--create", "--lower", lower, "--any-lower", ...state]);
		await runCli(["overlay", "up", b, "--create", "--lower", lower, "--any-lower", ...state]);
		const down = await runCli(["overlay", "down", a, ...state]);
		expect(down.code, down.stderr).toBe(0);
		expect(down.stderr).toContain(`modelfs: warning: ${a} no longer shows the 2 files (4.9 KiB) the view provided`);
		const mat = await runCli(["overlay", "down", b, "--materialize", ...state]);
		expect(mat.code, mat.stderr).toBe(0);
		expect(mat.stderr).not.toContain("warning");
		expect(mat.stdout).toContain("materialized 2 files (5040 bytes, 4.9 KiB), 1 symlinks and 5 folders from the view");
		expect(treeDigest(b)).toEqual(treeDigest(lower));
	});
});
