import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../store/storeFixtures.js";
import { runCli } from "../support/runCli.js";

describe("modelfs init", () => {
	it("creates the store at --store, else MODELFS_STORE, else XDG_DATA_HOME/modelfs; twice is harmless", async () => {
		const dir = tempDir();
		const r = await runCli(["init", "--store", join(dir, "a")]);
		expect(r.code).toBe(0);
		expect(r.stdout.trim()).toBe(join(dir, "a"));
		expect(existsSync(join(dir, "a", "modelfs.json"))).toBe(true);
		expect((await runCli(["init", "--store", join(dir, "a")])).code).toBe(0);
		expect((await runCli(["init"], { env: { MODELFS_STORE: join(dir, "b") } })).stdout.trim()).toBe(join(dir, "b"));
		expect((await runCli(["init"], { env: { MODELFS_STORE: "", XDG_DATA_HOME: join(dir, "xdg") } })).stdout.trim()).toBe(join(dir, "xdg", "modelfs"));
	});
});
