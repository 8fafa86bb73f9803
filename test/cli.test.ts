import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { storeWithModels } from "./commands/initStoreFixture.js";
import { makeHfCache } from "./ingest/local/importFixtures.js";
import { tempDir } from "./store/storeFixtures.js";
import { cliPath, repoRoot, runCli } from "./support/runCli.js";

describe("modelfs (cli.ts)", () => {
	it("takes --store, --json and --quiet before the command name as well as after it", async () => {
		const { store } = await storeWithModels();
		const after = await runCli(["ls", "--json", "--store", store]);
		const before = await runCli(["--store", store, "--json", "ls"]);
		expect(before.code, before.stderr).toBe(0);
		expect(JSON.parse(before.stdout)).toEqual(JSON.parse(after.stdout));
		// A value given after the command name wins over one before it.
		const both = await runCli(["--store", join(store, "nope"), "ls", "--store", store]);
		expect(both.code, both.stderr).toBe(0);
	});

	it("ends quietly when the reader of its output has gone (modelfs ls | true)", async () => {
		const { store } = await storeWithModels();
		const cmd = `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(cliPath)} ls --store ${JSON.stringify(store)} | true; exit "\${PIPESTATUS[0]}"`;
		const r = spawnSync("bash", ["-c", cmd], { cwd: repoRoot, encoding: "utf8" });
		expect(r.stderr).not.toMatch(/EPIPE|Error|at /);
		expect(r.status).toBe(0);
	});

	it("creates a missing store for a write command and says so once on stderr (import)", async () => {
		const dir = tempDir();
		makeHfCache(join(dir, "cache"), [{ name: "org/m", commits: [{ commit: "c".repeat(40), files: [{ path: "config.json", content: "{}" }] }] }]);
		const store = join(dir, "new-store");
		const r = await runCli(["import", join(dir, "cache"), "--store", store, "--quiet"]);
		expect(r.code, r.stderr).toBe(0);
		expect(r.stderr.match(/created a new store at/g)).toHaveLength(1);
		expect(existsSync(join(store, "modelfs.json"))).toBe(true);
		const again = await runCli(["import", join(dir, "cache"), "--store", store, "--quiet"]);
		expect(again.stderr).not.toContain("created a new store");
	});

	it("prints JSON from init and rm with --json", async () => {
		const dir = tempDir();
		const first = await runCli(["init", "--store", join(dir, "s"), "--json"]);
		expect(JSON.parse(first.stdout)).toEqual({ store: join(dir, "s"), created: true });
		const second = await runCli(["--json", "init", "--store", join(dir, "s")]);
		expect(JSON.parse(second.stdout)).toEqual({ store: join(dir, "s"), created: false });
		const { store } = await storeWithModels();
		const rm = await runCli(["rm", "org/llama", "--store", store, "--json"]);
		expect(rm.code, rm.stderr).toBe(0);
		expect(JSON.parse(rm.stdout)).toMatchObject({ repo: "org/llama", type: "model", removed: expect.arrayContaining(["a".repeat(40), "b".repeat(40)]) });
	});
});
