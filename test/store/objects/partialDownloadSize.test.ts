import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createBlobWriter } from "../../../src/store/objects/createBlobWriter.js";
import { partialDownloadSize } from "../../../src/store/objects/partialDownloadSize.js";
import { openStore } from "../../../src/store/openStore.js";
import { newStore } from "../storeFixtures.js";

describe("partialDownloadSize", () => {
	it("gives the bytes a resumable writer kept, null when there are none, also to a reader", async () => {
		const store = await newStore();
		expect(await partialDownloadSize({ store, resumeKey: "abc" })).toBeNull();
		const data = randomBytes(300_001);
		const w = await createBlobWriter({ store, resumeKey: "abc", size: 1_000_000 });
		await w.write(data);
		await w.abort({ keepPartial: true });
		expect(await partialDownloadSize({ store, resumeKey: "abc" })).toBe(data.length);
		expect(await partialDownloadSize({ store, resumeKey: "other" })).toBeNull();
		const reader = await openStore({ storeDir: store.dir });
		try {
			expect(await partialDownloadSize({ store: reader, resumeKey: "abc" })).toBe(data.length);
		} finally {
			await reader.close();
		}
		// The writer that resumes it starts where partialDownloadSize said.
		const again = await createBlobWriter({ store, resumeKey: "abc", size: 1_000_000 });
		expect(again.resumedBytes).toBe(data.length);
		await again.abort();
		expect(await partialDownloadSize({ store, resumeKey: "abc" })).toBeNull();
	});

	it("refuses a resumeKey that is not a plain name", async () => {
		const store = await newStore();
		await expect(partialDownloadSize({ store, resumeKey: "../lock" })).rejects.toBeInstanceOf(TypeError);
		await expect(partialDownloadSize({ store, resumeKey: "" })).rejects.toBeInstanceOf(TypeError);
	});
});
