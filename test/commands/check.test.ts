import { mkdirSync, realpathSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { overlayUp } from "../../src/overlay/overlayUp.js";
import { tempDir, unmountOnFinish, writeHubCache } from "../overlay/fixtures.js";
import { canMount } from "../support/canMount.js";
import { runCli } from "../support/runCli.js";

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
});
