import { createHash } from "node:crypto";
import { join, resolve } from "node:path";

export interface RuntimeDirForParams {
	/** The mountpoint (made absolute). */
	mountpoint: string;
	/**
	 * Folder holding one runtime folder per mount.
	 * @default $MODELFS_RUN_DIR, else /run/modelfs
	 */
	runRoot?: string;
}

/**
 * The runtime folder of the view mounted at `mountpoint`: view image, shared
 * state and stats files, pid files, log (native/HOLDER.md). Named by a hash
 * of the absolute mountpoint so any path length fits.
 */
export function runtimeDirFor(params: RuntimeDirForParams): string {
	if (typeof params?.mountpoint !== "string" || params.mountpoint === "") throw new TypeError("runtimeDirFor: `mountpoint` is required");
	const root = params.runRoot ?? process.env.MODELFS_RUN_DIR ?? "/run/modelfs";
	const hash = createHash("sha256").update(resolve(params.mountpoint)).digest("hex").slice(0, 16);
	return join(resolve(root), hash);
}
