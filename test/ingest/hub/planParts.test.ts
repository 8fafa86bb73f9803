import { describe, expect, it } from "vitest";
import { planParts } from "../../../src/ingest/hub/planParts.js";

const MiB = 1024 * 1024;

describe("planParts", () => {
	it("cuts the rest of a file into partSize ranges from the resume point, the last one holding what is left", () => {
		expect(planParts({ from: 0, size: 3 * MiB + 5, partSize: MiB })).toEqual([
			{ start: 0, end: MiB },
			{ start: MiB, end: 2 * MiB },
			{ start: 2 * MiB, end: 3 * MiB },
			{ start: 3 * MiB, end: 3 * MiB + 5 },
		]);
		expect(planParts({ from: 1000, size: 3 * MiB, partSize: MiB })).toEqual([
			{ start: 1000, end: MiB + 1000 },
			{ start: MiB + 1000, end: 2 * MiB + 1000 },
			{ start: 2 * MiB + 1000, end: 3 * MiB },
		]);
	});

	it("sends the rest as one request when it is under one and a half parts, or with parts 1", () => {
		expect(planParts({ from: 0, size: 1.5 * MiB, partSize: MiB })).toEqual([{ start: 0, end: 1.5 * MiB }]);
		expect(planParts({ from: 2 * MiB, size: 3 * MiB, partSize: MiB })).toEqual([{ start: 2 * MiB, end: 3 * MiB }]);
		expect(planParts({ from: 0, size: 10 * MiB, partSize: MiB, parts: 1 })).toEqual([{ start: 0, end: 10 * MiB }]);
		expect(planParts({ from: 0, size: 20 * MiB })).toEqual([{ start: 0, end: 20 * MiB }]);
		expect(planParts({ from: 0, size: 40 * MiB }).map((r) => r.end)).toEqual([16 * MiB, 32 * MiB, 40 * MiB]);
	});

	it("plans nothing when the writer has every byte, and refuses a resume point past the end", () => {
		expect(planParts({ from: 7, size: 7, partSize: MiB })).toEqual([]);
		expect(planParts({ from: 0, size: 0 })).toEqual([]);
		expect(() => planParts({ from: 8, size: 7 })).toThrow(TypeError);
		expect(() => planParts({ from: 0, size: 7, partSize: 0 })).toThrow(TypeError);
	});
});
