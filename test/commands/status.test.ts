import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { overlayUp } from "../../src/overlay/overlayUp.js";
import { tempDir, unmountOnFinish, writeHubCache } from "../overlay/fixtures.js";
import { canMount } from "../support/canMount.js";
import { cliPath, repoRoot } from "../support/runCli.js";

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
});
