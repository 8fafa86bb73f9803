import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { blobPath } from "../../src/store/objects/blobPath.js";
import type { ViewDir } from "../../src/view/ViewTree.js";
import { walkViewTree } from "../../src/view/walkViewTree.js";
import type { FuseManifest } from "./FuseManifest.js";

export interface WritePlainCacheParams {
	/** The tree the modelfs view shows (buildViewTree). */
	tree: ViewDir;
	/** The store its blobs are in. */
	storeDir: string;
	/** Folder to write the plain copy into (created). */
	dir: string;
}

/**
 * Writes the view's tree as a plain folder: the same directories, symlinks
 * and file bytes (blobs copied, not linked, so it has its own page cache).
 * This is the seed's manual plan without modelfs: a plain Hugging Face cache
 * as overlayfs lowerdir, the kernel-only reference. Also returns the same
 * tree as a manifest for the fuse-native baseline, reading from the blobs.
 */
export function writePlainCache(params: WritePlainCacheParams): FuseManifest {
	const entries: FuseManifest["entries"] = [];
	for (const { path, node } of walkViewTree(params.tree)) {
		const target = join(params.dir, path);
		if (node.kind === "dir") {
			mkdirSync(target, { recursive: true });
			entries.push({ path, kind: "dir" });
		} else if (node.kind === "symlink") {
			symlinkSync(node.target, target);
			entries.push({ path, kind: "symlink", target: node.target });
		} else if (node.content !== undefined) {
			writeFileSync(target, node.content);
			entries.push({ path, kind: "file", size: node.size, content: node.content });
		} else {
			const source = blobPath(params.storeDir, node.blake3);
			copyFileSync(source, target);
			entries.push({ path, kind: "file", size: node.size, source });
		}
	}
	return { entries };
}
