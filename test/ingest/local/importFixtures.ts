import { createHash } from "node:crypto";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** One file of a fixture snapshot; `lfs` files are named by sha256, others by git sha1. */
export interface FixtureFile {
	path: string;
	content: Buffer | string;
	lfs?: boolean;
}

export interface FixtureRepo {
	type?: "model" | "dataset";
	name: string;
	commits: Array<{ commit: string; files: FixtureFile[] }>;
	refs?: Record<string, string>;
}

export function gitSha1(content: Buffer): string {
	return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

export function sha256(content: Buffer): string {
	return createHash("sha256").update(content).digest("hex");
}

/** Deterministic pseudo-random bytes (so two fixtures can hold the same weights). */
export function fixtureBytes(size: number, seed: number): Buffer {
	const out = Buffer.allocUnsafe(size);
	let x = seed >>> 0 || 1;
	for (let i = 0; i < size; i += 4) {
		x ^= x << 13;
		x ^= x >>> 17;
		x ^= x << 5;
		out.writeUInt32LE(x >>> 0, Math.min(i, size - 4 < 0 ? 0 : i));
	}
	return out.subarray(0, size);
}

/**
 * Writes a Hugging Face cache the way huggingface_hub lays it out:
 * `<root>/models--org--name/{blobs/<etag>, snapshots/<commit>/<path> -> ../../blobs/<etag>, refs/<ref>}`.
 * Returns the repo folder of each repo.
 */
export function makeHfCache(root: string, repos: FixtureRepo[]): string[] {
	const dirs: string[] = [];
	for (const repo of repos) {
		const repoDir = join(root, `${repo.type === "dataset" ? "datasets" : "models"}--${repo.name.split("/").join("--")}`);
		dirs.push(repoDir);
		mkdirSync(join(repoDir, "blobs"), { recursive: true });
		for (const { commit, files } of repo.commits) {
			for (const f of files) {
				const content = Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content);
				const etag = f.lfs ? sha256(content) : gitSha1(content);
				writeFileSync(join(repoDir, "blobs", etag), content);
				const link = join(repoDir, "snapshots", commit, f.path);
				mkdirSync(dirname(link), { recursive: true });
				const depth = f.path.split("/").length - 1;
				symlinkSync(`${"../".repeat(depth + 2)}blobs/${etag}`, link);
			}
		}
		for (const [ref, commit] of Object.entries(repo.refs ?? {})) {
			mkdirSync(dirname(join(repoDir, "refs", ref)), { recursive: true });
			writeFileSync(join(repoDir, "refs", ref), commit);
		}
	}
	return dirs;
}
