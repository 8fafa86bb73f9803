import { randomFillSync } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface GenerateManyFilesParams {
	/** Folder to write into (created). */
	dir: string;
	/** How many files. @default 10000 */
	count?: number;
	/** Files per sub-folder. @default 100 */
	perDir?: number;
}

/**
 * Writes `count` small files (64 B to 4 KiB of random bytes, each distinct)
 * in sub-folders of `perDir`: the tree for the metadata bench (stat and
 * readdir of a view with 10,000 files). Returns their relative paths.
 */
export function generateManyFiles(params: GenerateManyFilesParams): string[] {
	const count = params.count ?? 10_000;
	const perDir = params.perDir ?? 100;
	if (!Number.isInteger(count) || count < 1) throw new TypeError("count: expected a positive integer");
	const paths: string[] = [];
	const buf = Buffer.allocUnsafe(4096);
	for (let i = 0; i < count; i++) {
		const sub = `shard-${String(Math.floor(i / perDir)).padStart(4, "0")}`;
		if (i % perDir === 0) mkdirSync(join(params.dir, sub), { recursive: true });
		const rel = `${sub}/file-${String(i).padStart(5, "0")}.bin`;
		const size = 64 + ((i * 2654435761) % (4096 - 64));
		randomFillSync(buf, 0, size);
		writeFileSync(join(params.dir, rel), buf.subarray(0, size));
		paths.push(rel);
	}
	return paths;
}
