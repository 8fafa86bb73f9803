import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { overlayUp } from "../../src/overlay/overlayUp.js";
import { tempDir, unmountOnFinish, writeHubCache } from "../overlay/fixtures.js";
import { canMount } from "../support/canMount.js";
import { cliPath, repoRoot, runCli } from "../support/runCli.js";

describe.runIf(canMount)("modelfs status", () => {
	it("works for a user who may not read everything, and says what it could not read", async () => {
		const root = realpathSync(tempDir());
		chmodSync(root, 0o755);
		const lower = join(root, "view");
		writeHubCache({ dir: lower, repo: "o/m", files: [{ path: "a", bytes: Buffer.from("a") }] });
		const target = join(root, "cache");
		mkdirSync(target);
		unmountOnFinish(target);
		// The state folder is root's alone, as /var/lib/modelfs is.
		const stateDir = join(root, "state");
		mkdirSync(stateDir, { mode: 0o700 });
		const up = await overlayUp({ target, lower, anyLower: true, stateDir });
		writeFileSync(join(target, "local.txt"), "written through the overlay");
		const config = join(root, "modelfs.yaml");
		writeFileSync(
			config,
			`store: ${join(root, "store")}\nstateDir: ${stateDir}\nviews: [{name: hf, mountpoint: ${join(root, "mnt")}}]\nbackends: [{name: b, target: ${target}}]\n`,
		);
		const r = spawnSync(process.execPath, ["--import", "tsx", cliPath, "status", "--config", config], {
			uid: 65534,
			gid: 65534,
			cwd: repoRoot,
			env: { ...process.env, HOME: root, MODELFS_RUN_DIR: join(root, "run") },
			encoding: "utf8",
		});
		expect(r.status, r.stderr).toBe(0);
		expect(r.stdout).toContain(`backend b  ${target}  mounted`);
		expect(r.stdout).toContain(`could not read 1 folder(s) of the upper layer (e.g. ${up.upper})`);
	});

	it("lists the view entries the upper layer hides, with the command that shows them again", async () => {
		const root = realpathSync(tempDir());
		const lower = join(root, "view");
		writeHubCache({ dir: lower, repo: "o/m", files: [{ path: "a", bytes: Buffer.from("a") }] });
		const target = join(root, "cache");
		mkdirSync(target);
		unmountOnFinish(target);
		const stateDir = join(root, "state");
		await overlayUp({ target, lower, anyLower: true, stateDir });
		// What `hf cache rm` does through the overlay: a whiteout in upper.
		rmSync(join(target, "models--o--m"), { recursive: true });
		const config = join(root, "modelfs.yaml");
		writeFileSync(
			config,
			`store: ${join(root, "store")}\nstateDir: ${stateDir}\nviews: [{name: hf, mountpoint: ${join(root, "mnt")}}]\nbackends: [{name: b, target: ${target}}]\n`,
		);
		const env = { MODELFS_RUN_DIR: join(root, "run") };
		const json = await runCli(["status", "--config", config, "--json"], { env });
		expect(json.code, json.stderr).toBe(0);
		expect(JSON.parse(json.stdout).backends[0].hidden).toEqual([expect.objectContaining({ path: "models--o--m", kind: "whiteout" })]);
		const text = await runCli(["status", "--config", config], { env });
		expect(text.stdout).toContain(`the upper layer hides 1 of the view's entries (e.g. models--o--m): modelfs overlay unhide ${target} shows them again`);
	});
});
