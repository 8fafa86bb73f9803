import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../store/storeFixtures.js";
import { runCli } from "../support/runCli.js";
import { C1, C2, storeWithModels } from "./initStoreFixture.js";

describe("modelfs ls", () => {
	it("lists repos, revisions, refs, file counts and sizes (and --json)", async () => {
		const { store } = await storeWithModels();
		const r = await runCli(["ls", "--store", store]);
		expect(r.code).toBe(0);
		const lines = r.stdout.trim().split("\n");
		expect(lines).toHaveLength(3);
		expect(lines[0]).toMatch(/^datasets\/org\/data@aaaaaaaaaaaa\s+main\s+1 files/);
		expect(lines[2]).toMatch(/^org\/llama@bbbbbbbbbbbb\s+main\s+2 files\s+1\.0 MiB/);
		const j = JSON.parse((await runCli(["ls", "--store", store, "--json"])).stdout);
		expect(j.find((x: { name: string }) => x.name === "org/llama")).toMatchObject({
			type: "model",
			refs: { main: C2 },
			snapshots: [
				{ commit: C1, files: 2 },
				{ commit: C2, refs: ["main"] },
			],
		});
	});

	it("prints nothing for an empty store and exits 4 for a missing one", async () => {
		const dir = tempDir();
		await runCli(["init", "--store", join(dir, "s")]);
		const r = await runCli(["ls", "--store", join(dir, "s"), "--json"]);
		expect(JSON.parse(r.stdout)).toEqual([]);
		const missing = await runCli(["ls", "--store", join(dir, "none")]);
		expect(missing.code).toBe(4);
		expect(missing.stderr).toContain("no modelfs store");
	});
});
