import { execFileSync } from "node:child_process";
import { realpathSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { overlayUp } from "../../src/overlay/overlayUp.js";
import { bytes, isMountPoint, tempDir, treeDigest, unmountOnFinish, writeHubCache } from "../overlay/fixtures.js";
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

describe.runIf(canMount)("modelfs absorb with a backend's own download", () => {
	it("on a read-only store says so and changes nothing; --no-import still frees what the view serves", async () => {
		const root = realpathSync(tempDir());
		const files = [{ path: "w.safetensors", bytes: bytes("w", 1 << 20) }];
		const storeDir = join(root, "store");
		const commit = await addRepoToStore({ storeDir, repo: "o/m", files });
		const lower = join(root, "view");
		writeHubCache({ dir: lower, repo: "o/m", files, commit });
		const target = join(root, "cache");
		writeHubCache({ dir: target, repo: "o/m", files, commit });
		// A model the store lacks, as a backend would have downloaded it.
		writeHubCache({ dir: target, repo: "o/new", files: [{ path: "n.safetensors", bytes: bytes("n", 300_000) }] });
		unmountOnFinish(target);
		const stateDir = join(root, "state");
		const up = await overlayUp({ target, lower, anyLower: true, stateDir });
		execFileSync("mount", ["--bind", storeDir, storeDir]);
		onTestFinished(() => {
			if (isMountPoint(storeDir)) execFileSync("umount", [storeDir]);
		});
		execFileSync("mount", ["-o", "remount,bind,ro", storeDir]);
		const before = treeDigest(up.upper);
		const r = await runCli(["absorb", target, "--store", storeDir, "--state-dir", stateDir]);
		expect(r.code, r.stderr).toBe(0);
		expect(r.stderr).toContain(`modelfs: the store ${storeDir} is read-only on this node: the backend's downloads were not imported and nothing was changed`);
		expect(r.stdout).toBe(`freed 0 bytes (0 B) in 0 entries from ${up.upper}\n`);
		expect(treeDigest(up.upper)).toEqual(before);
		const only = await runCli(["absorb", target, "--store", storeDir, "--state-dir", stateDir, "--no-import", "--json"]);
		expect(only.code, only.stderr).toBe(0);
		expect(JSON.parse(only.stdout)).toMatchObject({ freedBytes: 1 << 20, imported: [], readOnlyStore: false });
	});
});
