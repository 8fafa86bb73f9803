import { mkdir, open, rename } from "node:fs/promises";
import { join } from "node:path";
import type { OverlayState } from "./OverlayTypes.js";

export interface WriteOverlayStateParams {
	/** The target's state folder (overlayStateDir). */
	dir: string;
	state: OverlayState;
}

/**
 * Records where a target's upper layer is, durably, before anything is moved
 * into it: after a crash the record says where the files went.
 */
export async function writeOverlayState(params: WriteOverlayStateParams): Promise<void> {
	await mkdir(params.dir, { recursive: true });
	const final = join(params.dir, "overlay.json");
	const tmp = `${final}.${process.pid}.tmp`;
	const fh = await open(tmp, "w", 0o644);
	try {
		await fh.writeFile(`${JSON.stringify(params.state, null, 2)}\n`);
		await fh.sync();
	} finally {
		await fh.close();
	}
	await rename(tmp, final);
	const dir = await open(params.dir, "r");
	try {
		await dir.sync();
	} finally {
		await dir.close();
	}
}
