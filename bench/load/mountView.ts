import { mkdirSync } from "node:fs";
import type { BenchSession } from "./BenchSession.js";
import { runModelfs, runModelfsSync } from "./runModelfs.js";

export interface MountViewParams {
	session: BenchSession;
	storeDir: string;
	mountpoint: string;
	/** false: `--no-passthrough`, reads served by the daemon. @default true */
	passthrough?: boolean;
}

/**
 * `modelfs mount <mountpoint> --layout hf` of the store, unmounted with
 * `modelfs umount` at cleanup (umount(8) if that fails). Returns how long
 * the mount command took, start of the CLI included.
 */
export async function mountView(params: MountViewParams): Promise<{ mountMs: number }> {
	const { session, storeDir, mountpoint } = params;
	mkdirSync(mountpoint, { recursive: true });
	session.deferUnmount(mountpoint, () => runModelfsSync(["umount", mountpoint], storeDir));
	const args = ["mount", mountpoint, "--layout", "hf"];
	if (params.passthrough === false) args.push("--no-passthrough");
	const t0 = performance.now();
	await runModelfs({ session, storeDir, args });
	return { mountMs: performance.now() - t0 };
}
