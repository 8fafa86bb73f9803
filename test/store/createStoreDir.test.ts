import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createStoreDir } from "../../src/store/createStoreDir.js";
import { tempDir } from "./storeFixtures.js";

const complete = (dir: string) =>
	["objects", "tmp", "catalog", "quarantine"].every((sub) => existsSync(join(dir, sub))) && JSON.parse(readFileSync(join(dir, "modelfs.json"), "utf8")).format === 1;
const staging = (parent: string) => readdirSync(parent).filter((n) => n.includes(".creating-"));

describe("createStoreDir", () => {
	it("makes a new store whole beside its place and renames it in, leaving no staging folder; a second call finds it", async () => {
		const parent = tempDir("modelfs-create-");
		const dir = join(parent, "store");
		expect(await createStoreDir({ storeDir: dir })).toBe(true);
		expect(complete(dir)).toBe(true);
		expect(staging(parent)).toEqual([]);
		expect(await createStoreDir({ storeDir: dir })).toBe(false);
	});

	it("replaces an empty folder, and makes the store in place in a folder that holds files already, keeping them", async () => {
		const parent = tempDir("modelfs-create-");
		const empty = join(parent, "empty");
		mkdirSync(empty);
		expect(await createStoreDir({ storeDir: empty })).toBe(true);
		expect(complete(empty)).toBe(true);
		const used = join(parent, "used");
		mkdirSync(used);
		writeFileSync(join(used, "notes.txt"), "mine\n");
		expect(await createStoreDir({ storeDir: used })).toBe(true);
		expect(complete(used)).toBe(true);
		expect(readFileSync(join(used, "notes.txt"), "utf8")).toBe("mine\n");
		expect(staging(parent)).toEqual([]);
	});

	it("removes the staging folder of a run that died before its rename, and keeps one of a live process", async () => {
		const parent = tempDir("modelfs-create-");
		const dir = join(parent, "store");
		// pid_max is at most 4194304, so this pid cannot be alive.
		const dead = join(parent, ".store.creating-4194305-00aa11bb");
		const live = join(parent, `.store.creating-${process.ppid}-00aa11bb`);
		mkdirSync(join(dead, "objects"), { recursive: true });
		mkdirSync(live);
		expect(await createStoreDir({ storeDir: dir })).toBe(true);
		expect(existsSync(dead)).toBe(false);
		expect(existsSync(live)).toBe(true);
		expect(complete(dir)).toBe(true);
	});
});
