import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { overlayDown } from "../../src/overlay/overlayDown.js";
import { overlayUp } from "../../src/overlay/overlayUp.js";
import { canMount } from "../support/canMount.js";
import { isMountPoint, treeDigest } from "./fixtures.js";
import { seedOldContents, setup } from "./overlaySetup.js";

describe.runIf(canMount)("overlayDown", () => {
	it("brings back exactly what the folder held, plus what was written through the overlay, after up then down --restore", async () => {
		const { lower, target, stateDir } = setup();
		seedOldContents(target);
		const before = treeDigest(target);
		await overlayUp({ target, lower, anyLower: true, stateDir });
		writeFileSync(join(target, "new-file"), "written while mounted");
		// A deletion through the overlay of a view file becomes a whiteout in upper: it must not come back as a device.
		const snapshotDir = join(target, "models--org--model", "snapshots");
		const commitDir = join(snapshotDir, readdirSync(snapshotDir)[0]);
		execFileSync("rm", [join(commitDir, "config.json")]);
		const r = await overlayDown({ target, stateDir, restore: true });
		expect(r.wasMounted).toBe(true);
		expect(r.restored?.whiteouts).toBe(1);
		expect(isMountPoint(target)).toBe(false);
		const after = treeDigest(target);
		expect(after["new-file"]).toMatch(/^file:/);
		delete after["new-file"];
		// The view's folders that were created in upper by the writes come back too (as folders only).
		for (const p of Object.keys(after)) if (!(p in before)) expect(after[p], p).toBe("dir");
		for (const [p, d] of Object.entries(before)) expect(after[p], p).toBe(d);
		expect(existsSync(join(stateDir, "overlay"))).toBe(true);
		expect(readdirSync(join(stateDir, "overlay"))).toEqual([]);
	});

	it("without --restore leaves the files in upper and the folder empty; a later up shows them again", async () => {
		const { lower, target, stateDir } = setup();
		seedOldContents(target);
		const before = treeDigest(target);
		await overlayUp({ target, lower, anyLower: true, stateDir });
		const down = await overlayDown({ target, stateDir });
		expect(down.wasMounted).toBe(true);
		expect(readdirSync(target)).toEqual([]);
		expect((await overlayDown({ target, stateDir })).wasMounted).toBe(false);
		await overlayUp({ target, lower, anyLower: true, stateDir });
		const through = treeDigest(target);
		for (const [p, d] of Object.entries(before)) expect(through[p], p).toBe(d);
	});

	it("puts aside, never deletes, an older different copy when the folder and upper disagree", async () => {
		const { lower, target, stateDir } = setup();
		writeFileSync(join(target, "settings.json"), "old");
		const up = await overlayUp({ target, lower, anyLower: true, stateDir });
		await overlayDown({ target, stateDir });
		// Written to the bare folder while the overlay was down.
		writeFileSync(join(target, "settings.json"), "newer");
		const again = await overlayUp({ target, lower, anyLower: true, stateDir });
		expect(again.moved.conflicts).toEqual(["settings.json"]);
		expect(readFileSync(join(target, "settings.json"), "utf8")).toBe("newer");
		const conflicts = join(up.upper, "..", "conflicts");
		const [stamp] = readdirSync(conflicts);
		expect(readFileSync(join(conflicts, stamp, "settings.json"), "utf8")).toBe("old");
	});
});
