import { existsSync, mkdirSync, realpathSync, writeFileSync } from "node:fs";
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
