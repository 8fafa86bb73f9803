import { describe, expect, it } from "vitest";
import { runCli } from "../support/runCli.js";
import { storeWithModels } from "./initStoreFixture.js";

describe("modelfs df", () => {
	it("shows logical vs stored bytes, the dedup ratio and free space", async () => {
		const { store, weights } = await storeWithModels();
		const j = JSON.parse((await runCli(["df", "--store", store, "--json"])).stdout);
		// Two commits share the weights: logical counts them twice, the store once.
		expect(j.logicalBytes).toBe(2 * weights.length + 2 + 7 + 3);
		expect(j.storedBytes).toBe(weights.length + 2 + 7 + 3);
		expect(j.dedupRatio).toBeGreaterThan(1.9);
		expect(j.freeBytes).toBeGreaterThan(0);
		const text = (await runCli(["df", "--store", store])).stdout;
		expect(text).toMatch(/dedup\s+(1\.9\d|2\.00)x/);
		expect(text).toMatch(/free\s+/);
	});
});
