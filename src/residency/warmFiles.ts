import { constants } from "node:fs";
import { open } from "node:fs/promises";
import pLimit from "p-limit";
import { ModelfsError } from "../errors.js";

export interface WarmFilesParams {
	/** Files to read whole, with the size expected. */
	files: Array<{ path: string; size: number }>;
	/** Files read at once. @default 4 */
	concurrency?: number;
	/** Bytes per read(2). @default 8 MiB */
	chunkBytes?: number;
	/** Stops between reads. */
	signal?: AbortSignal;
	/** Bytes read since the last call (for the progress bar). */
	onProgress?: (bytes: number) => void;
}

export interface WarmFilesResult {
	files: number;
	bytes: number;
	seconds: number;
}

/**
 * Reads files into the page cache: every byte once, several files at once,
 * each into one reused buffer (no binding needed: reading is what fills the
 * cache). A file shorter than expected is an error naming it.
 */
export async function warmFiles(params: WarmFilesParams): Promise<WarmFilesResult> {
	const chunk = params.chunkBytes ?? 8 << 20;
	if (!Number.isInteger(chunk) || chunk <= 0) throw new TypeError("warmFiles: `chunkBytes` must be a positive integer");
	const limit = pLimit(params.concurrency ?? 4);
	const started = process.hrtime.bigint();
	let bytes = 0;
	const buffers: Buffer[] = [];
	await Promise.all(
		params.files.map((f) =>
			limit(async () => {
				params.signal?.throwIfAborted();
				const buf = buffers.pop() ?? Buffer.allocUnsafe(chunk);
				const fh = await open(f.path, constants.O_RDONLY | constants.O_NOATIME).catch(() => open(f.path, "r"));
				try {
					let pos = 0;
					for (;;) {
						params.signal?.throwIfAborted();
						const { bytesRead } = await fh.read(buf, 0, chunk, pos);
						if (bytesRead === 0) break;
						pos += bytesRead;
						bytes += bytesRead;
						params.onProgress?.(bytesRead);
					}
					if (pos !== f.size) {
						throw new ModelfsError("WARM_READ_FAILED", `${f.path}: read ${pos} bytes, the snapshot says ${f.size}`, {
							hint: "the file changed or is damaged: run `modelfs verify` on the writer node",
						});
					}
				} finally {
					buffers.push(buf);
					await fh.close();
				}
			}),
		),
	);
	return { files: params.files.length, bytes, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}
