import { spawnSync } from "node:child_process";
import { mkdirSync, realpathSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { overlayUp } from "../../src/overlay/overlayUp.js";
import { tempDir, unmountOnFinish, writeHubCache } from "../overlay/fixtures.js";
import { canMount } from "../support/canMount.js";
import { cliPath, repoRoot, runCli } from "../support/runCli.js";

function setup() {
	const root = realpathSync(tempDir());
	const lower = join(root, "view");
	const target = join(root, "cache");
	const commit = writeHubCache({ dir: lower, repo: "org/m", files: [{ path: "config.json", bytes: Buffer.from("{}") }] });
	mkdirSync(target);
	unmountOnFinish(target);
	return { lower, target, stateDir: join(root, "state"), commit };
}

describe.runIf(canMount)("modelfs check", () => {
	it("exits 0 on a healthy target and non-zero on a broken one", async () => {
		const { lower, target, stateDir, commit } = setup();
		await overlayUp({ target, lower, anyLower: true, stateDir });
		const ok = await runCli(["check", target]);
		expect(ok.code, ok.stderr).toBe(0);
		expect(ok.stdout).toMatch(/^ok: /m);
		truncateSync(join(target, "models--org--m", "snapshots", commit, "config.json"), 0);
		const bad = await runCli(["check", target]);
		expect(bad.code).toBe(5);
		expect(bad.stdout).toContain(`FAIL models--org--m/`);
		expect(bad.stderr).toContain("modelfs: ");
	});

	it("shows a progress bar over a --full read on a terminal, and none when not a terminal or with --quiet", async () => {
		const root = realpathSync(tempDir());
		const lower = join(root, "view");
		const target = join(root, "cache");
		writeHubCache({ dir: lower, repo: "org/big", files: [{ path: "model.safetensors", bytes: Buffer.alloc(64 << 20, 3) }] });
		mkdirSync(target);
		unmountOnFinish(target);
		await overlayUp({ target, lower, anyLower: true, stateDir: join(root, "state") });
		const cmd = (extra: string) => `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(cliPath)} check ${JSON.stringify(target)} --full ${extra}`;
		// script(1) gives the CLI a terminal, as an operator's shell would.
		const tty = spawnSync("script", ["-qec", cmd(""), "/dev/null"], { cwd: repoRoot, encoding: "utf8" });
		expect(tty.status, tty.stdout).toBe(0);
		expect(tty.stdout).toMatch(/check .*MiB.*\/s/);
		const quiet = spawnSync("script", ["-qec", cmd("--quiet"), "/dev/null"], { cwd: repoRoot, encoding: "utf8" });
		expect(quiet.stdout).not.toMatch(/check .*MiB.*\/s/);
		const piped = await runCli(["check", target, "--full"]);
		expect(piped.code).toBe(0);
		expect(piped.stderr).toBe("");
	});
});
