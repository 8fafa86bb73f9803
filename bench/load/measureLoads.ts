import type { DiskId, PatternId, RowId, RunSample, Temperature } from "./BenchTypes.js";

/** One row, pattern and device: what the tables call a cell. */
export interface LoadCell {
	row: RowId;
	pattern: PatternId;
	disk: DiskId;
}

/** What one timed run returned, before the loop numbers it. */
export type TimedRun = Omit<RunSample, "round" | "seq"> & { bytes: number; checksum?: string };

/** Every run of one cell. */
export interface CellRuns {
	cell: LoadCell;
	cold: RunSample[];
	warm: RunSample[];
	/** Bytes read by the last run. */
	bytes: number;
	/** Checksums of verify runs, every one. */
	checksums: string[];
	/** Set when a run failed: the cell is not run again. */
	failed?: string;
}

export interface MeasureLoadsParams {
	/** The cells, in a base order: patterns as they come first, then rows (and devices) as they come. */
	cells: LoadCell[];
	/** Rounds: every cell runs once cold (and warm) per round; as many rounds as rows give every row every place. */
	repeat: number;
	/** Warm runs right after each cold run. 0: cold runs only. */
	warmRuns: number;
	/** Fewer rounds or warm runs for a slow row (the fuse-native baseline). @default every round, warmRuns */
	limits?: (cell: LoadCell) => { rounds?: number; warmRuns?: number };
	/** Makes the page cache cold before a cold run (drop_caches) and returns the bytes of the files still cached. */
	beforeCold: (cell: LoadCell) => Promise<number>;
	/** One timed run of the cell. */
	run: (cell: LoadCell, temp: Temperature) => Promise<TimedRun>;
	/** A run failed; the error is reported here and the cell is dropped. Throw to stop the bench (Ctrl-C). */
	onError: (cell: LoadCell, err: Error) => void;
	/** Runs at the start of each round (measurements that belong to no cell). @default none */
	onRound?: (round: number) => Promise<void>;
	/** A finished cold run and its warm runs, for progress lines. */
	onCell?: (runs: CellRuns, round: number) => void;
}

/**
 * The timed loop of the load bench. Each round runs every pattern, and
 * within a pattern every row, so the rows compared in one column run
 * minutes apart at most. The orders come from a Williams design (a
 * balanced Latin square): from round to round every row takes another
 * place AND follows another row. Shifting one order by a place each round
 * is not enough: it keeps every row's neighbours, so whatever the row
 * before leaves behind (the daemon-served row drops twice the page cache
 * of the others, for one) lands on the same row every round. Each cold
 * run starts from `beforeCold` and is followed by the warm runs of the
 * same cell.
 */
export async function measureLoads(params: MeasureLoadsParams): Promise<CellRuns[]> {
	const patterns = [...new Set(params.cells.map((c) => c.pattern))];
	const lanes = [...new Set(params.cells.map(laneOf))];
	const byKey = new Map<string, CellRuns>();
	for (const cell of params.cells) byKey.set(keyOf(cell), { cell, cold: [], warm: [], bytes: 0, checksums: [] });
	let seq = 0;
	for (let round = 0; round < params.repeat; round++) {
		await params.onRound?.(round);
		for (const pattern of permute(patterns, round)) {
			for (const lane of permute(lanes, round + patterns.indexOf(pattern))) {
				const runs = byKey.get(`${pattern}|${lane}`);
				if (!runs || runs.failed) continue;
				const limits = params.limits?.(runs.cell) ?? {};
				if (round >= (limits.rounds ?? params.repeat)) continue;
				try {
					const residentBefore = await params.beforeCold(runs.cell);
					const temps: Temperature[] = ["cold", ...Array<Temperature>(limits.warmRuns ?? params.warmRuns).fill("warm")];
					for (const temp of temps) {
						const { bytes, checksum, ...sample } = await params.run(runs.cell, temp);
						runs[temp].push({ round, seq: seq++, ...sample, ...(temp === "cold" ? { residentBeforeBytes: residentBefore } : {}) });
						runs.bytes = bytes;
						if (checksum !== undefined) runs.checksums.push(checksum);
					}
				} catch (err) {
					runs.failed = (err as Error).message;
					params.onError(runs.cell, err as Error);
					continue;
				}
				params.onCell?.(runs, round);
			}
		}
	}
	return [...byKey.values()];
}

function laneOf(cell: LoadCell): string {
	return `${cell.row}|${cell.disk}`;
}

function keyOf(cell: LoadCell): string {
	return `${cell.pattern}|${laneOf(cell)}`;
}

/**
 * Row `r` of a Williams square of order n: 0, 1, n-1, 2, n-2, ... plus r
 * (mod n). Over n rows each item takes every place once, and (n even) each
 * item follows every other item exactly once.
 */
function permute<T>(list: T[], r: number): T[] {
	const n = list.length;
	return list.map((_, j) => {
		const base = j === 0 ? 0 : j % 2 === 1 ? (j + 1) / 2 : n - j / 2;
		return list[(base + r) % n];
	});
}
