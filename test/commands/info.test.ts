import { describe, expect, it } from "vitest";
import { runCli } from "../support/runCli.js";
import { C1, C2, storeWithModels } from "./initStoreFixture.js";

describe("modelfs info", () => {
	it("shows the files and total bytes of main, of a commit prefix, and of a dataset", async () => {
		const { store, weights } = await storeWithModels();
		const main = await runCli(["info", "org/llama", "--store", store, "--json"]);
		expect(main.code).toBe(0);
		const j = JSON.parse(main.stdout);
		expect(j).toMatchObject({ name: "org/llama", commit: C2, refs: ["main"], bytes: weights.length + 7 });
		expect(j.files.map((f: { path: string }) => f.path)).toEqual(["config.json", "model.safetensors"]);
		const old = await runCli(["info", `org/llama@${C1.slice(0, 8)}`, "--store", store]);
		expect(old.stdout).toContain(`model org/llama@${C1}`);
		expect(old.stdout).toContain(`2 files, 1.0 MiB (${weights.length + 2} bytes)`);
		expect((await runCli(["info", "datasets/org/data", "--store", store])).stdout).toContain("dataset org/data");
	});

	it("exits 2 naming the repo or revision that is not in the store", async () => {
		const { store } = await storeWithModels();
		const r = await runCli(["info", "org/nope", "--store", store]);
		expect(r.code).toBe(2);
		expect(r.stderr).toContain("org/nope is not in the store");
		const rev = await runCli(["info", "org/llama@v9", "--store", store]);
		expect(rev.code).toBe(2);
		expect(rev.stderr).toContain("org/llama@v9 is not in the store");
		expect((await runCli(["info", "not a repo", "--store", store])).code).toBe(2);
	});
});
