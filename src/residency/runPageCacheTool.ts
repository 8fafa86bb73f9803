import { spawn } from "node:child_process";
import { ModelfsError } from "../errors.js";
import { pageCacheToolPath } from "./pageCacheToolPath.js";

export interface RunPageCacheToolParams {
	/** `resident`: measure (mincore); `evict`: drop clean, unmapped pages (posix_fadvise DONTNEED), then measure. */
	mode: "resident" | "evict";
	/** Regular files (absolute paths without a newline). */
	paths: string[];
}

/** What the helper saw for one file. */
export type FileResidency = { path: string; size: number; resident: number; error: null } | { path: string; size: null; resident: null; error: string };

/**
 * Runs tools/page-cache's `modelfs-page-cache` on many files at once (paths
 * go in on stdin, NUL-separated) and returns one result per path, in order.
 * Per-file failures (ENOENT, EACCES...) come back as `error`; a helper that
 * cannot run throws.
 */
export async function runPageCacheTool(params: RunPageCacheToolParams): Promise<FileResidency[]> {
	if (params.mode !== "resident" && params.mode !== "evict") throw new TypeError("runPageCacheTool: `mode` must be resident or evict");
	for (const p of params.paths) if (p.includes("\n") || p.includes("\0")) throw new TypeError(`runPageCacheTool: path ${JSON.stringify(p)} holds a newline or NUL`);
	if (params.paths.length === 0) return [];
	const tool = pageCacheToolPath();
	const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
		const child = spawn(tool, [params.mode], { stdio: ["pipe", "pipe", "pipe"] });
		let out = "";
		let err = "";
		child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
		child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
		child.on("error", reject);
		child.on("close", (c) => resolve({ code: c, stdout: out, stderr: err }));
		child.stdin.on("error", () => undefined);
		child.stdin.end(`${params.paths.join("\0")}\0`);
	});
	const lines = stdout.split("\n").filter((l) => l !== "");
	if (code !== 0 || lines.length !== params.paths.length) {
		throw new ModelfsError(
			"PAGE_CACHE_TOOL_FAILED",
			`${tool} ${params.mode} failed (exit ${code}): ${stderr.trim() || `${lines.length} answers for ${params.paths.length} files`}`,
			{
				hint: "rebuild it with `npm run build`; run with MODELFS_DEBUG=1 for details",
			},
		);
	}
	return lines.map((line, i) => {
		const [kind, a, b] = line.split(" ", 3);
		if (kind === "ok") return { path: params.paths[i], size: Number(a), resident: Number(b), error: null };
		return { path: params.paths[i], size: null, resident: null, error: a };
	});
}
