import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BenchSession } from "./BenchSession.js";
import { runModelfs, runModelfsSync } from "./runModelfs.js";

export interface MountOverlayParams {
	session: BenchSession;
	/** The lower layer: a modelfs view or a plain folder. */
	lower: string;
	/** Folder that gets `upper/`, `work/` and the mount point `target/`. */
	dir: string;
	/**
	 * `modelfs`: `modelfs overlay up` (needs `storeDir`); `mount`: mount(8)
	 * directly, as the seed's manual plan does.
	 */
	via: "modelfs" | "mount";
	storeDir?: string;
}

/** Mounts overlayfs with `lower` as lowerdir and returns the mount point. */
export async function mountOverlay(params: MountOverlayParams): Promise<string> {
	const { session, lower, dir } = params;
	const upper = join(dir, "upper");
	const work = join(dir, "work");
	const target = join(dir, "target");
	for (const d of [upper, work, target]) mkdirSync(d, { recursive: true });
	if (params.via === "modelfs") {
		const storeDir = params.storeDir ?? "";
		// modelfs keeps a record of each overlay in its state folder: keep it in ours.
		const state = ["--state-dir", join(dir, "state")];
		session.deferUnmount(target, () => runModelfsSync(["overlay", "down", target, ...state], storeDir));
		await runModelfs({ session, storeDir, args: ["overlay", "up", target, "--lower", lower, "--upper", upper, "--work", work, ...state] });
	} else {
		session.deferUnmount(target);
		await session.run("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lower},upperdir=${upper},workdir=${work}`, target]);
	}
	return target;
}
