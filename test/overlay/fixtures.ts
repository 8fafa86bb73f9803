import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import { isMountPoint, tempDir as viewTempDir } from "../native/viewFixtures.js";

export { bytes, isMountPoint } from "../native/viewFixtures.js";

/** A temp dir removed when the test ends (registered first, so it runs after unmounts). */
export function tempDir(prefix = "modelfs-ov-"): string {
	return viewTempDir(prefix);
}

/** Unmounts everything stacked at `path` when the test ends (even when it failed). */
export function unmountOnFinish(path: string): void {
	onTestFinished(() => {
		for (let i = 0; i < 8 && isMountPoint(path); i++) execFileSync("umount", [path]);
	});
}

export interface FakeHubFile {
	path: string;
	bytes: Buffer;
}

/**
 * Writes a real Hugging Face hub cache for one repo at one commit:
 * blobs named by sha256, snapshot symlinks, refs/main. Returns the commit.
 */
export function writeHubCache(params: { dir: string; repo: string; files: FakeHubFile[]; commit?: string }): string {
	const commit = params.commit ?? createHash("sha1").update(params.repo).digest("hex");
	const root = join(params.dir, `models--${params.repo.replaceAll("/", "--")}`);
	mkdirSync(join(root, "blobs"), { recursive: true });
	mkdirSync(join(root, "refs"), { recursive: true });
	for (const f of params.files) {
		const etag = createHash("sha256").update(f.bytes).digest("hex");
		writeFileSync(join(root, "blobs", etag), f.bytes);
		const link = join(root, "snapshots", commit, f.path);
		mkdirSync(join(link, ".."), { recursive: true });
		const depth = f.path.split("/").length - 1;
		symlinkSync(`${"../".repeat(2 + depth)}blobs/${etag}`, link);
	}
	writeFileSync(join(root, "refs", "main"), commit);
	return commit;
}

/** path -> "dir" | "link:<target>" | "file:<mode>:<sha256>" for a whole tree. */
export function treeDigest(dir: string): Record<string, string> {
	const out: Record<string, string> = {};
	const walk = (abs: string, rel: string) => {
		for (const name of readdirSync(abs).sort()) {
			const p = join(abs, name);
			const r = rel === "" ? name : `${rel}/${name}`;
			const s = lstatSync(p);
			if (s.isDirectory()) {
				out[r] = "dir";
				walk(p, r);
			} else if (s.isSymbolicLink()) out[r] = `link:${readlinkSync(p)}`;
			else out[r] = `file:${(s.mode & 0o777).toString(8)}:${createHash("sha256").update(readFileSync(p)).digest("hex")}`;
		}
	};
	walk(dir, "");
	return out;
}
