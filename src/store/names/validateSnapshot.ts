import { UsageError } from "../../errors.js";
import type { Snapshot } from "../StoreTypes.js";
import { isSafeRelativePath } from "./isSafeRelativePath.js";
import { validateRepoId } from "./validateRepoId.js";
import { validateRevision } from "./validateRevision.js";

// Kept for callers that import them from here (ingest).
export { isSafeRelativePath } from "./isSafeRelativePath.js";
export { validateRepoId } from "./validateRepoId.js";
export { validateRevision } from "./validateRevision.js";

const HEX64 = /^[0-9a-f]{64}$/;
const ETAG = /^([0-9a-f]{40}|[0-9a-f]{64})$/;

/** Checks a snapshot's shape before it goes into the index: names, paths, digests, no duplicates. */
export function validateSnapshot(snapshot: Snapshot): void {
	validateRepoId(snapshot.repo);
	validateRevision(snapshot.commit);
	if (!Array.isArray(snapshot.files)) throw new TypeError("snapshot.files must be an array");
	const seen = new Set<string>();
	const label = `${snapshot.repo.name}@${snapshot.commit}`;
	for (const f of snapshot.files) {
		if (!isSafeRelativePath(f.path)) throw new UsageError("SNAPSHOT_PATH_INVALID", `${label}: file path ${JSON.stringify(f.path)} escapes the snapshot or is malformed`);
		if (seen.has(f.path)) throw new UsageError("SNAPSHOT_PATH_DUPLICATE", `${label}: file path ${f.path} appears twice`);
		seen.add(f.path);
		if (!HEX64.test(f.blake3)) throw new TypeError(`${label}:${f.path}: blake3 must be 64 lowercase hex`);
		if (!ETAG.test(f.etag)) throw new TypeError(`${label}:${f.path}: etag must be 40 or 64 lowercase hex`);
		if (!Number.isSafeInteger(f.size) || f.size < 0) throw new TypeError(`${label}:${f.path}: size must be a non-negative integer`);
	}
	// A file and a folder of the same name cannot both exist in a cache layout.
	for (const p of seen) {
		const parts = p.split("/");
		for (let i = 1; i < parts.length; i++) {
			const dir = parts.slice(0, i).join("/");
			if (seen.has(dir)) throw new UsageError("SNAPSHOT_PATH_CONFLICT", `${label}: ${dir} is both a file and a folder`);
		}
	}
}
