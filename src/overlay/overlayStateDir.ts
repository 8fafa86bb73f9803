import { createHash } from "node:crypto";
import { join } from "node:path";

export interface OverlayStateDirParams {
	/** The overlay's target folder, absolute and realpath'd. */
	target: string;
	/**
	 * modelfs's local state folder (node-local disk, not the shared volume).
	 * @default $MODELFS_STATE_DIR, else /var/lib/modelfs
	 */
	stateDir?: string;
}

/**
 * The node-local folder that holds one target's default upper and work
 * layers and its overlay.json: `<state dir>/overlay/<16 hex of sha256(target)>`.
 * Upper and work are siblings there, so they are always on one filesystem,
 * as overlayfs requires.
 */
export function overlayStateDir(params: OverlayStateDirParams): string {
	const root = params.stateDir ?? process.env.MODELFS_STATE_DIR ?? "/var/lib/modelfs";
	const id = createHash("sha256").update(params.target).digest("hex").slice(0, 16);
	return join(root, "overlay", id);
}
