import { lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkTarget } from "../../src/overlay/checkTarget.js";
import { listWhiteouts } from "../../src/overlay/listWhiteouts.js";
import { overlayUp } from "../../src/overlay/overlayUp.js";
import { unhideOverlay } from "../../src/overlay/unhideOverlay.js";
import { canMount } from "../support/canMount.js";
import { treeDigest, writeHubCache } from "./fixtures.js";
import { setup } from "./overlaySetup.js";

describe.runIf(canMount)("unhideOverlay", () => {
	it("shows again a repo that a delete through the overlay (hf cache rm) hid behind a whiteout, after check lists it", async () => {
		const { lower, target, stateDir } = setup();
		const up = await overlayUp({ target, lower, anyLower: true, stateDir });
		const before = treeDigest(target);
		// `hf cache rm` deletes the repo folder: the view's files cannot go, overlayfs leaves a whiteout.
		rmSync(join(target, "models--org--model"), { recursive: true });
		expect(lstatSync(join(up.upper, "models--org--model")).isCharacterDevice()).toBe(true);
		expect(await listWhiteouts({ upper: up.upper, lower, merged: target })).toEqual([{ path: "models--org--model", kind: "whiteout", hides: "dir", hiddenEntries: 0 }]);
		const bad = await checkTarget({ target });
		expect(bad.hidden).toHaveLength(1);
		expect(bad.problems).toEqual([
			{
				path: "models--org--model",
				problem: expect.stringContaining(
					`hidden by a whiteout in the upper layer (deleted through the overlay, e.g. by \`hf cache rm\`); \`modelfs overlay unhide ${target} models--org--model\``,
				),
			},
		]);

		const r = await unhideOverlay({ target, stateDir });
		expect(r.unhidden.map((h) => h.path)).toEqual(["models--org--model"]);
		expect(r.stillHidden).toEqual([]);
		expect(treeDigest(target)).toEqual(before);
		expect(readdirSync(up.upper)).toEqual([]);
		expect((await checkTarget({ target })).problems).toEqual([]);
	});

	it("makes a folder re-created after a delete plain again: the backend's own files stay, the view's show through", async () => {
		const { lower, target, stateDir, commit } = setup();
		const up = await overlayUp({ target, lower, anyLower: true, stateDir });
		const repo = join(target, "models--org--model");
		rmSync(repo, { recursive: true });
		mkdirSync(join(repo, "blobs"), { recursive: true });
		writeFileSync(join(repo, "blobs", "mine"), "downloaded again");
		expect(readdirSync(repo)).toEqual(["blobs"]);
		const hidden = await listWhiteouts({ upper: up.upper, lower, merged: target });
		expect(hidden).toEqual([{ path: "models--org--model", kind: "opaque", hides: "dir", hiddenEntries: 2 }]);
		// Without the mount to compare with, an opaque folder cannot be told from a plain one.
		expect(await listWhiteouts({ upper: up.upper, lower })).toEqual([]);
		const dry = await unhideOverlay({ target, stateDir, dryRun: true });
		expect(dry.unhidden).toEqual(hidden);
		expect(readdirSync(repo)).toEqual(["blobs"]);

		await unhideOverlay({ target, stateDir });
		expect(readdirSync(repo).sort()).toEqual(["blobs", "refs", "snapshots"]);
		expect(readdirSync(join(repo, "blobs"))).toContain("mine");
		expect(lstatSync(join(repo, "snapshots", commit, "model.safetensors")).isSymbolicLink()).toBe(true);
		expect(await listWhiteouts({ upper: up.upper, lower, merged: target })).toEqual([]);
	});

	it("unhides only the paths given", async () => {
		const { lower, target, stateDir } = setup();
		writeHubCache({ dir: lower, repo: "org/other", files: [{ path: "a.json", bytes: Buffer.from("{}") }] });
		const up = await overlayUp({ target, lower, anyLower: true, stateDir });
		rmSync(join(target, "models--org--model"), { recursive: true });
		rmSync(join(target, "models--org--other", "refs", "main"));
		const r = await unhideOverlay({ target, stateDir, paths: ["models--org--other"] });
		expect(r.unhidden.map((h) => [h.path, h.kind, h.hides])).toEqual([["models--org--other/refs/main", "whiteout", "file"]]);
		expect(lstatSync(join(target, "models--org--other", "refs", "main")).isFile()).toBe(true);
		expect((await listWhiteouts({ upper: up.upper, lower, merged: target })).map((h) => h.path)).toEqual(["models--org--model"]);
	});
});
