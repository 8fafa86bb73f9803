import { realpathSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { overlayUp } from "../../src/overlay/overlayUp.js";
import { bytes, tempDir, unmountOnFinish, writeHubCache } from "../overlay/fixtures.js";
import { addRepoToStore } from "../overlay/makeStore.js";
import { canMount } from "../support/canMount.js";
import { runCli } from "../support/runCli.js";

describe.runIf(canMount)("modelfs absorb", () => {
	it("prints the bytes it freed from the overlay's upper layer", async () => {
		const root = realpathSync(tempDir());
		const files = [{ path: "w.safetensors", bytes: bytes("w", 1 << 20) }];
		const storeDir = join(root, "store");
		const commit = await addRepoToStore({ storeDir, repo: "o/m", files });
		const lower = join(root, "view");
		writeHubCache({ dir: lower, repo: "o/m", files, commit });
		const target = join(root, "cache");
		writeHubCache({ dir: target, repo: "o/m", files, commit });
		unmountOnFinish(target);
		const stateDir = join(root, "state");
		await overlayUp({ target, lower, anyLower: true, stateDir });
		const dry = await runCli(["absorb", target, "--store", storeDir, "--state-dir", stateDir, "--dry-run"]);
		expect(dry.code, dry.stderr).toBe(0);
		expect(dry.stdout).toContain(`would free ${1 << 20} bytes (1.0 MiB) in 2 entries`);
		const r = await runCli(["absorb", target, "--store", storeDir, "--state-dir", stateDir, "--json"]);
		expect(r.code, r.stderr).toBe(0);
		expect(JSON.parse(r.stdout)).toMatchObject({ mode: "overlay", freedBytes: 1 << 20 });
	});
});
