import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkTarget } from "../../src/overlay/checkTarget.js";
import { overlayUp } from "../../src/overlay/overlayUp.js";
import { canMount } from "../support/canMount.js";
import { bytes } from "./fixtures.js";
import { setup as setupOverlay } from "./overlaySetup.js";

const setup = () =>
	setupOverlay({
		repo: "org/m",
		files: [
			{ path: "config.json", bytes: Buffer.from("{}") },
			{ path: "model.safetensors", bytes: bytes("m", 200_000) },
			{ path: "a/b/c.txt", bytes: Buffer.from("c") },
		],
	});

describe.runIf(canMount)("checkTarget", () => {
	it("passes on a healthy overlay and counts every file and byte", async () => {
		const { lower, target, stateDir } = setup();
		await overlayUp({ target, lower, anyLower: true, stateDir });
		const r = await checkTarget({ target, full: true });
		expect(r.problems).toEqual([]);
		expect(r.lower).toBe(lower);
		// 3 blobs + 3 snapshot links (followed) + refs/main
		expect(r.files).toBe(7);
		expect(r.bytes).toBe(2 * (2 + 200_000 + 1) + 40);
	});

	it("reports a file shadowed in upper with the wrong size, a missing snapshot, and a ref to nowhere", async () => {
		const { lower, target, stateDir, commit } = setup();
		const up = await overlayUp({ target, lower, anyLower: true, stateDir });
		const repo = join(target, "models--org--m");
		// A truncated copy-up of a blob, written through the overlay.
		const blob = join(repo, "blobs", readdirSync(join(lower, "models--org--m", "blobs"))[0]);
		writeFileSync(blob, "short");
		rmSync(join(repo, "snapshots", commit, "a"), { recursive: true });
		writeFileSync(join(repo, "refs", "main"), "f".repeat(40));
		const r = await checkTarget({ target });
		const paths = r.problems.map((p) => p.path);
		expect(paths).toContain(`models--org--m/snapshots/${commit}/a`);
		expect(paths).toContain("models--org--m/refs/main");
		expect(r.problems.some((p) => /bytes through the target/.test(p.problem))).toBe(true);
		expect(up.upper).toBeTruthy();
	});

	it("fails when nothing is mounted on the target", async () => {
		const { target } = setup();
		await expect(checkTarget({ target })).rejects.toMatchObject({ code: "OVERLAY_NOT_MOUNTED" });
	});
});
