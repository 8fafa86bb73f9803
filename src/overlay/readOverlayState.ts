import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ModelfsError } from "../errors.js";
import type { OverlayState } from "./OverlayTypes.js";

export interface ReadOverlayStateParams {
	/** The target's state folder (overlayStateDir). */
	dir: string;
}

/** The recorded overlay of a target, or null if modelfs never put one there. */
export async function readOverlayState(params: ReadOverlayStateParams): Promise<OverlayState | null> {
	const path = join(params.dir, "overlay.json");
	let text: string;
	try {
		text = await readFile(path, "utf8");
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
		throw err;
	}
	try {
		const state = JSON.parse(text) as OverlayState;
		if (state.format !== 1 || typeof state.upper !== "string" || typeof state.target !== "string") throw new Error("unexpected shape");
		return state;
	} catch (err) {
		throw new ModelfsError("OVERLAY_STATE_CORRUPT", `overlay state file ${path} cannot be read`, {
			cause: err,
			hint: `look inside it by hand; the upper layer is usually ${join(params.dir, "upper")}`,
		});
	}
}
