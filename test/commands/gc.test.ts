import { describe, expect, it } from "vitest";
import { runCli } from "../support/runCli.js";
import { storeWithModels } from "./initStoreFixture.js";

describe("modelfs gc", () => {
	it("keeps young blobs within --grace, removes them after; --dry-run changes nothing", async () => {
		const { store, weights } = await storeWithModels();
		expect((await runCli(["rm", "org/llama", "--store", store])).code).toBe(0);
		// Within the default 1h grace: the blobs are young and the catalogs that listed them recent.
		const young = JSON.parse((await runCli(["gc", "--store", store, "--json"])).stdout);
		expect(young).toMatchObject({ removed: 0, removedBytes: 0 });
		const dry = JSON.parse((await runCli(["gc", "--grace", "0s", "--dry-run", "--store", store, "--json"])).stdout);
		expect(dry).toMatchObject({ removed: 3, dryRun: true });
		expect(dry.removedBytes).toBe(weights.length + 2 + 7);
		const real = await runCli(["gc", "--grace", "0s", "--store", store]);
		expect(real.code).toBe(0);
		expect(real.stdout).toContain("removed 3 blobs");
		const df = JSON.parse((await runCli(["df", "--store", store, "--json"])).stdout);
		expect(df).toMatchObject({ objects: 1, storedBytes: 3 });
		expect((await runCli(["gc", "--grace", "soon", "--store", store])).code).toBe(2);
	});
});
