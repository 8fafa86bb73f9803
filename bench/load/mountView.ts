import { mkdirSync } from "node:fs";
import type { BenchSession } from "./BenchSession.js";
import { runModelfs, runModelfsSync } from "./runModelfs.js";

export interface MountViewParams {
	session: BenchSession;
	storeDir: string;
	mountpoint: string;
	/** false: `--no-passthrough`, reads served by the daemon. @default true */
	passthrough?: boolean;
	/** `--prefetch on|off`; only given when `modelfs mount` has the option (detectPrefetch). @default not passed */
	prefetch?: "on" | "off";
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
	if (params.prefetch !== undefined) args.push("--prefetch", params.prefetch);
	const t0 = performance.now();
	await runModelfs({ session, storeDir, args });
	return { mountMs: performance.now() - t0 };
}
