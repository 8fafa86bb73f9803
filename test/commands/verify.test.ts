import { chmodSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/runCli.js";
import { storeWithModels } from "./initStoreFixture.js";

describe("modelfs verify", () => {
	it("passes on a healthy store, exits 4 naming a corrupted blob, quarantines it with --repair", async () => {
		const { store, cache } = await storeWithModels();
		const ok = await runCli(["verify", "--full", "--store", store]);
		expect(ok.code).toBe(0);
		expect(ok.stdout).toContain("0 bad");
		const prefix = readdirSync(join(store, "objects"))[0];
		const blob = readdirSync(join(store, "objects", prefix))[0];
		const path = join(store, "objects", prefix, blob);
		chmodSync(path, 0o644);
		writeFileSync(path, Buffer.alloc((await import("node:fs")).statSync(path).size, 0x55));
		const bad = await runCli(["verify", "--store", store]);
		expect(bad.code).toBe(4);
		expect(bad.stdout).toContain(`CORRUPT ${blob}`);
		expect(bad.stdout).toContain("used by org/");
		expect(bad.stderr).toContain("modelfs verify --repair");
		const fixed = await runCli(["verify", "--repair", "--store", store, "--json"]);
		expect(fixed.code).toBe(4);
		expect(JSON.parse(fixed.stdout)).toMatchObject({ repaired: true, problems: [{ blake3: blob, reason: "content" }] });
		expect(readdirSync(join(store, "quarantine"))[0]).toContain(blob);
		// Until the snapshot's blob is stored again, verify says it is missing.
		const after = await runCli(["verify", "--store", store]);
		expect(after.code).toBe(4);
		expect(after.stdout).toContain(`MISSING ${blob}`);
		expect((await runCli(["import", cache, "--store", store])).code).toBe(0);
		expect((await runCli(["verify", "--full", "--store", store])).code).toBe(0);
	});
});
