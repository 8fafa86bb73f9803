import { readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { listModelfsMounts } from "../../src/mount/listModelfsMounts.js";
import { isProcessAlive } from "../../src/system/isProcessAlive.js";
import { isMountPoint } from "../native/viewFixtures.js";
import { canMount } from "../support/canMount.js";
import { runCli } from "../support/runCli.js";
import { makeCliStore } from "./mountFixtures.js";

describe.runIf(canMount)("umountCommand", () => {
	it("unmounts and waits: no mount, no process, no runtime folder left", async () => {
		const s = await makeCliStore();
		expect((await runCli(["mount", s.mnt], { env: s.env })).code).toBe(0);
		const m = (await listModelfsMounts({ runRoot: s.runRoot })).find((x) => x.mountpoint === s.mnt);
		const r = await runCli(["umount", s.mnt], { env: s.env });
		expect(r.code).toBe(0);
		expect(r.stdout).toBe(`unmounted ${s.mnt}\n`);
		expect(isMountPoint(s.mnt)).toBe(false);
		expect(isProcessAlive(m?.holderPid as number)).toBe(false);
		expect(isProcessAlive(m?.daemonPid as number)).toBe(false);
		expect(() => readFileSync(join(m?.runtimeDir as string, "mount.json"))).toThrow();
		expect((await runCli(["mount", s.mnt], { env: s.env })).code).toBe(0);
		const json = await runCli(["umount", s.mnt, "--json"], { env: s.env });
		expect(JSON.parse(json.stdout)).toMatchObject({ mountpoint: s.mnt, wasDead: false, stillRunning: [] });
		const again = await runCli(["umount", s.mnt], { env: s.env });
		expect(again.code).toBe(5);
		expect(again.stderr).toContain(`no modelfs view is mounted at ${s.mnt}`);
	});

	it("refuses a busy view with a hint, and --lazy detaches it", async () => {
		const s = await makeCliStore();
		expect((await runCli(["mount", s.mnt], { env: s.env })).code).toBe(0);
		const held = await open(join(s.mnt, "models--org--beta/snapshots", "b".repeat(40), "model.safetensors"), "r");
		let closed = false;
		onTestFinished(async () => {
			if (!closed) await held.close();
		});
		const busy = await runCli(["umount", s.mnt], { env: s.env });
		expect(busy.code).toBe(5);
		expect(busy.stderr).toMatch(/is busy/);
		expect(busy.stderr).toMatch(/--lazy/);
		expect(isMountPoint(s.mnt)).toBe(true);
		const lazy = await runCli(["umount", s.mnt, "--lazy"], { env: s.env });
		expect(lazy.code).toBe(0);
		expect(isMountPoint(s.mnt)).toBe(false);
		await held.close();
		closed = true;
	});
});
