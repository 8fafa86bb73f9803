import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { canMount } from "../support/canMount.js";
import { runCli } from "../support/runCli.js";
import { makeCliStore } from "./mountFixtures.js";

describe.runIf(canMount)("statsCommand", () => {
	it("prints the daemon's counters and the store device, as text and --json", async () => {
		const s = await makeCliStore();
		expect((await runCli(["mount", s.mnt], { env: s.env })).code).toBe(0);
		const snap = join(s.mnt, "models--org--alpha/snapshots", "a".repeat(40));
		await readFile(join(snap, "model.safetensors"));
		await readFile(join(snap, "config.json"));
		await expect(readFile(join(snap, "nope"))).rejects.toMatchObject({ code: "ENOENT" });

		const j = await runCli(["stats", s.mnt, "--json"], { env: s.env });
		expect(j.code).toBe(0);
		const out = JSON.parse(j.stdout);
		expect(out.mountpoint).toBe(s.mnt);
		expect(out.state).toBe("live");
		expect(out.stats.passthrough).toBe(true);
		expect(out.stats.opens).toBeGreaterThanOrEqual(2);
		expect(out.stats.passthroughOpens).toBe(out.stats.opens);
		expect(out.stats.requests.LOOKUP).toBeGreaterThan(0);
		expect(out.stats.negativeLookups).toBeGreaterThanOrEqual(1);
		expect(out.stats.latency.count).toBeGreaterThan(0);
		expect(out).toHaveProperty("storeDevice");

		const t = await runCli(["stats", s.mnt], { env: s.env });
		expect(t.code).toBe(0);
		expect(t.stdout).toMatch(/^mode\s+passthrough$/m);
		expect(t.stdout).toMatch(/^opens\s+\d+ \(passthrough \d+, fallback 0\)$/m);
	});

	it("fails with exit 5 for a folder with no view", async () => {
		const s = await makeCliStore();
		const r = await runCli(["stats", s.mnt], { env: s.env });
		expect(r.code).toBe(5);
		expect(r.stderr).toContain(`no modelfs view with counters is mounted at ${s.mnt}`);
	});
});
