import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkIndexFile } from "../../../src/store/index/checkIndexFile.js";
import { StoreIndex } from "../../../src/store/index/StoreIndex.js";
import { overwriteBytes } from "../../support/overwriteBytes.js";
import { tempDir } from "../storeFixtures.js";

const PAGE = 4096;

/** An index env with some history: puts, overwrites and deletes over many transactions (freed and reused pages). */
async function busyIndex(): Promise<string> {
	const dir = join(tempDir(), "index");
	mkdirSync(dir);
	const index = new StoreIndex({ path: dir, readOnly: false });
	try {
		const keys: Buffer[] = [];
		for (let t = 0; t < 60; t++) {
			await index.env.transaction(() => {
				for (let i = 0; i < 40; i++) {
					const key = randomBytes(32);
					keys.push(key);
					index.sha256.put(key, randomBytes(32 + ((t * 40 + i) % 900)));
				}
				for (let i = 0; i < 25; i++) index.sha256.remove(keys.splice((t * 7 + i * 13) % keys.length, 1)[0]);
				index.meta.put("generation", t);
			});
		}
	} finally {
		await index.close();
	}
	return join(dir, "data.mdb");
}

describe("checkIndexFile", () => {
	it("accepts an index with a history of puts and deletes and reports its page size and last page", async () => {
		const path = await busyIndex();
		const info = await checkIndexFile({ path });
		expect(info).not.toBeNull();
		expect(info!.pageSize).toBe(PAGE);
		expect(info!.size).toBe(statSync(path).size);
		expect((info!.lastPage + 1) * PAGE).toBeLessThanOrEqual(info!.size);
		expect(info!.txnid).toBeGreaterThan(50);
		// The layout it reads: MDB_MAGIC at byte 24 of both meta pages.
		const bytes = readFileSync(path);
		expect(bytes.readUInt32LE(24)).toBe(0xbeefc0de);
		expect(bytes.readUInt32LE(PAGE + 24)).toBe(0xbeefc0de);
	});

	it("returns null for a file that is not there", async () => {
		expect(await checkIndexFile({ path: join(tempDir(), "data.mdb") })).toBeNull();
	});

	it("refuses an empty file, one page, a cut file, a partial page, and a bad meta page, naming what is wrong", async () => {
		const cases: Array<[string, (p: string) => void, RegExp]> = [
			["empty", (p) => truncateSync(p, 0), /0 bytes, shorter than two pages/],
			["one page", (p) => truncateSync(p, PAGE), /meta page 1 is missing/],
			["cut", (p) => truncateSync(p, 3 * PAGE), /uses pages up to \d+, \d+ bytes: it was cut short/],
			["partial page", (p) => truncateSync(p, statSync(p).size - 100), /not a whole number of 4096-byte pages|cut short/],
			["zeroed page 1", (p) => overwriteBytes(p, PAGE, Buffer.alloc(PAGE)), /meta page 1 has magic 0x00000000/],
			["zeroed meta pages", (p) => overwriteBytes(p, 0, Buffer.alloc(2 * PAGE)), /no valid meta page/],
			["other version", (p) => overwriteBytes(p, 28, Buffer.from([1, 0, 0, 0])), /meta page 0 has data version 1/],
			["huge sync txnid", (p) => overwriteBytes(p, PAGE / 2 + 24 + 128, Buffer.alloc(8, 0xff)), /sync meta in page 0/],
		];
		const healthy = await busyIndex();
		for (const [name, damage, message] of cases) {
			const path = join(tempDir(), "data.mdb");
			copyFileSync(healthy, path);
			damage(path);
			const err = await checkIndexFile({ path }).catch((e: unknown) => e);
			expect(err, name).toMatchObject({ code: "INDEX_CORRUPT" });
			expect((err as Error).message, name).toMatch(message);
			expect((err as Error).message, name).toContain("run `modelfs rebuild-index`");
		}
	});

	it("throws TypeError without a path", async () => {
		await expect(checkIndexFile({ path: "" })).rejects.toThrow(TypeError);
	});
});
