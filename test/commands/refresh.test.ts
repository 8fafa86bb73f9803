import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { addRepoToStore } from "../overlay/makeStore.js";
import { canMount } from "../support/canMount.js";
import { runCli } from "../support/runCli.js";
import { makeCliStore } from "./mountFixtures.js";

describe.runIf(canMount)("refreshCommand", () => {
	it("switches a mounted view to the store's newest catalog in place, says what changed, and knows when there is nothing to do", async () => {
		const s = await makeCliStore();
		expect((await runCli(["mount", s.mnt], { env: s.env })).code).toBe(0);
		const none = await runCli(["refresh", s.mnt], { env: s.env });
		expect(none.code, none.stderr).toBe(0);
		expect(none.stdout).toMatch(/already shows catalog \d+/);
		await addRepoToStore({ storeDir: s.storeDir, repo: "org/gamma", files: [{ path: "config.json", bytes: Buffer.from("{}") }] });
		const r = await runCli(["refresh", "--json"], { env: s.env });
		expect(r.code, r.stderr).toBe(0);
		const out = JSON.parse(r.stdout);
		expect(out.views[0]).toMatchObject({ mountpoint: s.mnt, refreshed: true });
		expect(out.views[0].result.added).toBe(1);
		expect(readFileSync(join(s.mnt, "models--org--gamma", "refs", "main"), "utf8")).toMatch(/^[0-9a-f]{40}$/);
	});

	it("names a mountpoint with no view on it (exit 5)", async () => {
		const s = await makeCliStore();
		const r = await runCli(["refresh", s.mnt], { env: s.env });
		expect(r.code).toBe(5);
		expect(r.stderr).toContain(`no modelfs view is mounted at ${s.mnt}`);
	});
});
