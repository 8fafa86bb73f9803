import { join } from "node:path";
import { ModelfsError } from "../errors.js";
import { readFileIfExists } from "../system/readFileIfExists.js";
import type { OverlayState } from "./OverlayTypes.js";

export interface ReadOverlayStateParams {
	/** The target's state folder (overlayStateDir). */
	dir: string;
}

/** The recorded overlay of a target, or null if modelfs never put one there. */
export async function readOverlayState(params: ReadOverlayStateParams): Promise<OverlayState | null> {
	const path = join(params.dir, "overlay.json");
	const buf = await readFileIfExists({ path });
	if (buf === null) return null;
	try {
		const state = JSON.parse(buf.toString("utf8")) as OverlayState;
		if (state.format !== 1 || typeof state.upper !== "string" || typeof state.target !== "string") throw new Error("unexpected shape");
		return state;
	} catch (err) {
		throw new ModelfsError("OVERLAY_STATE_CORRUPT", `overlay state file ${path} cannot be read`, {
			cause: err,
			hint: `look inside it by hand; the upper layer is usually ${join(params.dir, "upper")}`,
		});
	}
}
