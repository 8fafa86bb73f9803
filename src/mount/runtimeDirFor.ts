import { createHash } from "node:crypto";
import { join, resolve } from "node:path";

export interface RuntimeDirForParams {
	/** The mountpoint (made absolute). */
	mountpoint: string;
	/**
	 * Folder holding the runtime folders.
	 * @default $MODELFS_RUN_DIR, else /run/modelfs
	 */
	runRoot?: string;
}

/**
 * The runtime folder of the view mounted last at `mountpoint`, by its
 * index link `<run root>/<16 hex of sha256(mountpoint)>`, which points at
 * the mount instance's own folder `instances/<id>/` (native/HOLDER.md,
 * "Runtime folders"). Files joined onto it resolve through the link; code
 * that removes or owns files uses the instance folder itself
 * (listModelfsMounts gives it per mount), so a replaced mount can never
 * touch its successor's files.
 */
export function runtimeDirFor(params: RuntimeDirForParams): string {
	if (typeof params?.mountpoint !== "string" || params.mountpoint === "") throw new TypeError("runtimeDirFor: `mountpoint` is required");
	const root = resolve(params.runRoot ?? process.env.MODELFS_RUN_DIR ?? "/run/modelfs");
	return join(root, createHash("sha256").update(resolve(params.mountpoint)).digest("hex").slice(0, 16));
}
