import { getHashPool } from "./getHashPool.js";

export interface HashFileParams {
	/** File to hash. */
	path: string;
	/** Also compute the git blob sha1 (`sha1("blob <size>\0" + bytes)`). @default false */
	sha1?: boolean;
	/** Stops the read between chunks; the promise rejects with an AbortError. */
	signal?: AbortSignal;
	/** Called with the bytes hashed since the last call (for progress bars). */
	onProgress?: (bytes: number) => void;
}

/**
 * BLAKE3, sha256 and (optionally) git sha1 of a file in one read pass, in the
 * worker-thread pool; several calls at once run in parallel, one per core.
 */
export async function hashFile(params: HashFileParams): Promise<{ blake3: string; sha256: string; sha1: string | null; size: number }> {
	if (typeof params?.path !== "string" || params.path === "") throw new TypeError("hashFile: `path` must be a non-empty string");
	const r = await getHashPool().runFile({ path: params.path, sha256: true, sha1: params.sha1 ?? false, signal: params.signal, onProgress: params.onProgress });
	return { blake3: r.blake3, sha256: r.sha256 as string, sha1: r.sha1, size: r.size };
}
