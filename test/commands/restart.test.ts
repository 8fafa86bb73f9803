import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listModelfsMounts } from "../../src/mount/listModelfsMounts.js";
import { isProcessAlive } from "../../src/system/isProcessAlive.js";
import { canMount } from "../support/canMount.js";
import { runCli } from "../support/runCli.js";
import { makeCliStore } from "./mountFixtures.js";

describe.runIf(canMount)("restartCommand", () => {
	it("replaces the daemon and the holder of a live view; the view keeps answering", async () => {
		const s = await makeCliStore();
		expect((await runCli(["mount", s.mnt], { env: s.env })).code).toBe(0);
		const before = (await listModelfsMounts({ runRoot: s.runRoot })).find((m) => m.mountpoint === s.mnt);
		const r = await runCli(["restart", s.mnt, "--json"], { env: s.env });
		expect(r.code, r.stderr).toBe(0);
		const out = JSON.parse(r.stdout);
		expect(out.daemon.previousPid).toBe(before?.daemonPid);
		expect(out.holder.previousPid).toBe(before?.holderPid);
		const after = (await listModelfsMounts({ runRoot: s.runRoot })).find((m) => m.mountpoint === s.mnt);
		expect(after?.state).toBe("live");
		expect(after?.daemonPid).toBe(out.daemon.pid);
		expect(after?.holderPid).toBe(out.holder.pid);
		expect(isProcessAlive(before?.daemonPid as number)).toBe(false);
		const file = join(s.mnt, "models--org--alpha/snapshots", "a".repeat(40), "config.json");
		expect(await readFile(file, "utf8")).toBe('{"a":1}');
		const only = await runCli(["restart", s.mnt, "--only", "daemon"], { env: s.env });
		expect(only.stdout).toMatch(/^daemon: \d+ -> \d+/);
		expect(only.stdout).not.toMatch(/holder:/);
	});

	it("refuses a mountpoint with no view (exit 5) and an unknown --only (exit 2)", async () => {
		const s = await makeCliStore();
		expect((await runCli(["restart", s.mnt], { env: s.env })).code).toBe(5);
		expect((await runCli(["restart", s.mnt, "--only", "both"], { env: s.env })).code).toBe(2);
	});
});
