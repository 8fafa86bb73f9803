import type { PartRange } from "./PartTypes.js";

export interface PlanPartsParams {
	/** Bytes the writer already holds (the resume point). */
	from: number;
	/** The file's size. */
	size: number;
	/** Bytes per ranged request when the rest is split. @default 16 MiB */
	partSize?: number;
	/** Ranged requests of the file at once; with 1 the rest goes as one request. @default 4 */
	parts?: number;
}

/**
 * The ranged requests that fetch bytes [from, size) of a file: `partSize`
 * pieces from the resume point on (the last one holds what is left), or a
 * single request when the rest is under one and a half parts (a short last
 * request is not worth a round trip) or parts is 1. None when nothing is
 * left.
 */
export function planParts(params: PlanPartsParams): PartRange[] {
	const { from, size } = params;
	const partSize = params.partSize ?? 16 * 1024 * 1024;
	const maxParts = Math.max(1, params.parts ?? 4);
	if (!Number.isSafeInteger(size) || size < 0) throw new TypeError(`planParts: \`size\` must be a non-negative integer, got ${size}`);
	if (!Number.isSafeInteger(from) || from < 0 || from > size) throw new TypeError(`planParts: \`from\` must be an integer from 0 to size (${size}), got ${from}`);
	if (!Number.isSafeInteger(partSize) || partSize < 1) throw new TypeError(`planParts: \`partSize\` must be a positive integer, got ${partSize}`);
	const remaining = size - from;
	if (remaining === 0) return [];
	const count = remaining > partSize * 1.5 && maxParts > 1 ? Math.ceil(remaining / partSize) : 1;
	const ranges: PartRange[] = [];
	for (let i = 0; i < count; i++) {
		const start = from + i * partSize;
		ranges.push({ start, end: i === count - 1 ? size : start + partSize });
	}
	return ranges;
}
