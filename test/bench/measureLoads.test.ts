import { describe, expect, it } from "vitest";
import type { RowId, Temperature } from "../../bench/load/BenchTypes.js";
import { type LoadCell, measureLoads, type TimedRun } from "../../bench/load/measureLoads.js";

const run = (gbps: number): TimedRun => ({ bytes: 100, seconds: 100 / (gbps * 1e9), gbps, device: null, majorFaults: 0, minorFaults: 0 });

describe("measureLoads", () => {
	const rows: RowId[] = ["direct", "passthrough", "daemon", "overlay-view"];
	const cells: LoadCell[] = (["seq", "mmap"] as const).flatMap((pattern) => rows.map((row) => ({ row, pattern, disk: "plain" as const })));

	it("makes every cold run start cold, follows it with the warm runs, and orders rows so each takes every place and none keeps its neighbour", async () => {
		const events: string[] = [];
		const runs = await measureLoads({
			cells,
			repeat: 4,
			warmRuns: 2,
			beforeCold: async (c) => {
				events.push(`drop ${c.pattern} ${c.row}`);
				return 0;
			},
			run: async (c, temp: Temperature) => {
				events.push(`${temp} ${c.pattern} ${c.row}`);
				return run(1);
			},
			onError: (_c, err) => {
				throw err;
			},
		});
		// Every cold run right after a drop, then two warm runs of the same cell.
		for (let i = 0; i < events.length; i += 4) {
			const [drop, cold, w1, w2] = events.slice(i, i + 4);
			const cell = drop.slice("drop ".length);
			expect([cold, w1, w2]).toEqual([`cold ${cell}`, `warm ${cell}`, `warm ${cell}`]);
		}
		expect(runs.every((r) => r.cold.length === 4 && r.warm.length === 8)).toBe(true);
		// Which row ran right before overlay-view, per round, in the seq pattern: not always the same one.
		const seqOrder = events.filter((e) => e.startsWith("cold seq")).map((e) => e.split(" ")[2]);
		const before = [0, 1, 2, 3].map((round) => {
			const order = seqOrder.slice(round * 4, round * 4 + 4);
			const at = order.indexOf("overlay-view");
			return at === 0 ? null : order[at - 1];
		});
		expect(new Set(before.filter((b) => b !== null)).size).toBeGreaterThan(1);
		// Every row takes every place once over four rounds.
		for (const row of rows) expect(new Set([0, 1, 2, 3].map((round) => seqOrder.slice(round * 4, round * 4 + 4).indexOf(row))).size).toBe(4);
		// Runs are numbered in the order they ran.
		const seqs = runs.flatMap((r) => [...r.cold, ...r.warm].map((s) => s.seq)).sort((a, b) => a - b);
		expect(seqs).toEqual(seqs.map((_, i) => i));
	});

	it("drops a cell whose run failed, reports it once, and keeps measuring the others", async () => {
		const errors: string[] = [];
		const runs = await measureLoads({
			cells,
			repeat: 3,
			warmRuns: 1,
			beforeCold: async () => 0,
			run: async (c) => {
				if (c.row === "daemon" && c.pattern === "mmap") throw new Error("loadgen exited with 1");
				return run(2);
			},
			onError: (c, err) => errors.push(`${c.row} ${c.pattern}: ${err.message}`),
		});
		expect(errors).toEqual(["daemon mmap: loadgen exited with 1"]);
		expect(runs.find((r) => r.cell.row === "daemon" && r.cell.pattern === "mmap")?.failed).toMatch(/exited/);
		expect(runs.filter((r) => !r.failed).every((r) => r.cold.length === 3)).toBe(true);
	});

	it("runs a slow row in fewer rounds and with fewer warm runs when told to", async () => {
		const runs = await measureLoads({
			cells: [...cells, { row: "fuse-native", pattern: "seq", disk: "plain" }],
			repeat: 3,
			warmRuns: 3,
			limits: (c) => (c.row === "fuse-native" ? { rounds: 1, warmRuns: 1 } : {}),
			beforeCold: async () => 0,
			run: async () => run(1),
			onError: (_c, err) => {
				throw err;
			},
		});
		const fn = runs.find((r) => r.cell.row === "fuse-native")!;
		expect([fn.cold.length, fn.warm.length]).toEqual([1, 1]);
		expect(runs.find((r) => r.cell.row === "direct")!.warm.length).toBe(9);
	});
});
