import { describe, expect, it } from "vitest";
import { runCli } from "../support/runCli.js";
import { C1, C2, storeWithModels } from "./initStoreFixture.js";

describe("modelfs rm", () => {
	it("removes one revision, then the whole repo; unknown repos exit 2", async () => {
		const { store } = await storeWithModels();
		const r = await runCli(["rm", `org/llama@${C1}`, "--store", store]);
		expect(r.code).toBe(0);
		expect(r.stdout).toBe(`removed org/llama@${C1}\n`);
		let ls = JSON.parse((await runCli(["ls", "--store", store, "--json"])).stdout);
		expect(ls.find((x: { name: string }) => x.name === "org/llama").snapshots.map((s: { commit: string }) => s.commit)).toEqual([C2]);
		expect((await runCli(["rm", "org/llama", "--store", store])).stdout).toBe(`removed org/llama@${C2}\n`);
		ls = JSON.parse((await runCli(["ls", "--store", store, "--json"])).stdout);
		expect(ls.map((x: { name: string }) => x.name)).toEqual(["org/data"]);
		const missing = await runCli(["rm", "org/llama", "--store", store]);
		expect(missing.code).toBe(2);
		expect(missing.stderr).toContain("org/llama is not in the store");
	});
});
