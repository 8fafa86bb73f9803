import { describe, expect, it } from "vitest";
import type { BenchReport, LoadResult, RunSample } from "../../bench/load/BenchTypes.js";
import { splitBackend } from "../../bench/load/splitBackend.js";
import { summarizeRuns } from "../../bench/load/summarizeRuns.js";

const sample = (gbps: number, requests: number, majorFaults = 0): RunSample => ({
	round: 0,
	seq: 0,
	gbps,
	seconds: 1 / gbps,
	device: { requests, merges: 0, bytes: 2 ** 30, ms: 100 },
	majorFaults,
	minorFaults: 0,
});

describe("summarizeRuns", () => {
	it("reports the median with the slowest and fastest run, not the best one", () => {
		const s = summarizeRuns({ runs: [sample(2.0, 290), sample(0.6, 300), sample(1.1, 288)], bytes: 2 ** 30 });
		expect(s.gbps).toBe(1.1);
		expect([s.minGbps, s.maxGbps]).toEqual([0.6, 2.0]);
	});

	it("gives the median device figures and the bytes per request, and major faults per GiB", () => {
		const s = summarizeRuns({ runs: [sample(1, 290, 4), sample(1, 300, 8), sample(1, 280, 6), sample(1, 310, 2)], bytes: 2 * 2 ** 30 });
		expect(s.device).toEqual({ requests: 295, bytes: 2 ** 30, avgRequestBytes: 2 ** 30 / 295 });
		expect(s.majorFaultsPerGiB).toBe(2.5);
	});

	it("has no device figures when a run had none (no block device)", () => {
		expect(summarizeRuns({ runs: [{ ...sample(1, 1), device: null }], bytes: 1 }).device).toBeNull();
	});
});

describe("splitBackend", () => {
	const result = (pattern: "backend" | "backend-io", seconds: number): LoadResult => ({
		row: "overlay-view",
		pattern,
		temp: "cold",
		disk: "plain",
		bytes: 1e9,
		gbps: 1 / seconds,
		minGbps: 1 / seconds,
		maxGbps: 1 / seconds,
		runs: [],
		ratio: null,
		device: null,
		majorFaultsPerGiB: 0,
	});
	const split = (total: number, io: number, work: number) =>
		splitBackend({ load: [result("backend", total), result("backend-io", io)] as BenchReport["load"], workSeconds: work })[0];

	it("says 0 when reading and working take turns and 1 when the shorter is hidden", () => {
		expect(split(3, 2, 1).overlap).toBeCloseTo(0);
		expect(split(2, 2, 1).overlap).toBeCloseTo(1);
		expect(split(2.5, 2, 1).overlap).toBeCloseTo(0.5);
		expect(split(2.5, 2, 1)).toMatchObject({ row: "overlay-view", temp: "cold", disk: "plain", ioSeconds: 2, workSeconds: 1 });
	});

	it("gives no overlap when a part is too short to tell", () => {
		expect(split(2, 2, 0.01).overlap).toBeNull();
	});
});
