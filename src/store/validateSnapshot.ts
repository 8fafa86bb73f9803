import { UsageError } from "../errors.js";
import type { RepoId, Snapshot } from "./StoreTypes.js";

const HEX64 = /^[0-9a-f]{64}$/;
const ETAG = /^([0-9a-f]{40}|[0-9a-f]{64})$/;
const REPO_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/;
const REVISION = /^[A-Za-z0-9][A-Za-z0-9._\-/]*$/;

/** Throws UsageError (REPO_ID_INVALID) unless `repo` is a type plus `org/name` the HF cache layout can hold. */
export function validateRepoId(repo: RepoId): void {
	if (repo?.type !== "model" && repo?.type !== "dataset") throw new UsageError("REPO_ID_INVALID", `repo type must be "model" or "dataset", got ${JSON.stringify(repo?.type)}`);
	if (typeof repo.name !== "string" || !REPO_NAME.test(repo.name) || repo.name.includes("--") || repo.name.includes("..") || repo.name.length > 200) {
		throw new UsageError("REPO_ID_INVALID", `invalid repo id ${JSON.stringify(repo?.name)}`, {
			hint: "use org/name: letters, digits, '.', '_', '-', no '--' or '..'",
		});
	}
}

/** Throws UsageError (REVISION_INVALID) unless `rev` is usable as a ref name or snapshot folder. */
export function validateRevision(rev: string): void {
	if (typeof rev !== "string" || !REVISION.test(rev) || rev.includes("..") || rev.endsWith("/") || rev.includes("//") || rev.length > 255) {
		throw new UsageError("REVISION_INVALID", `invalid revision ${JSON.stringify(rev)}`, { hint: "use a commit sha or a branch/tag name" });
	}
}

/** True for a relative `/`-separated path without empty, `.` or `..` parts or NUL. */
export function isSafeRelativePath(path: string): boolean {
	if (typeof path !== "string" || path === "" || path.startsWith("/") || path.includes("\0") || path.includes("\\")) return false;
	return path.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}

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
