/**
 * The tree the fuse-native baseline serves (bench/fuse-native-server.ts),
 * written by the bench from the same view tree the modelfs daemon serves.
 */
export interface FuseManifest {
	entries: FuseManifestEntry[];
}

export interface FuseManifestEntry {
	/** `/`-separated from the mount's root, "" for the root. Parents come first. */
	path: string;
	kind: "dir" | "file" | "symlink";
	/** file: size in bytes */
	size?: number;
	/** file: absolute path of the store blob it reads from */
	source?: string;
	/** file: inline bytes (refs/main) instead of a blob */
	content?: string;
	/** symlink: relative target */
	target?: string;
}
