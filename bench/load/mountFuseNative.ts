import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { BenchSession } from "./BenchSession.js";
import type { FuseManifest } from "./FuseManifest.js";
import { Unavailable } from "./Unavailable.js";

const serverPath = fileURLToPath(new URL("../fuse-native-server.ts", import.meta.url));

export interface MountFuseNativeParams {
	session: BenchSession;
	manifest: FuseManifest;
	/** Where to write the manifest file. */
	manifestPath: string;
	mountpoint: string;
	/** Give up waiting for "ready" after this long. @default 30000 */
	timeoutMs?: number;
}

/**
 * Starts bench/fuse-native-server.ts on `mountpoint` and resolves once it
 * answers, with the time from start to ready. Throws Unavailable when
 * fuse-native or libfuse.so.2 is missing, saying how to install it.
 */
export async function mountFuseNative(params: MountFuseNativeParams): Promise<{ mountMs: number }> {
	const { session, mountpoint } = params;
	mkdirSync(mountpoint, { recursive: true });
	writeFileSync(params.manifestPath, JSON.stringify(params.manifest));
	const t0 = performance.now();
	const child = session.start(process.execPath, ["--import", "tsx", serverPath, params.manifestPath, mountpoint]);
	session.deferUnmount(mountpoint);
	let stderr = "";
	child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
	await new Promise<void>((resolve, reject) => {
		const timer = setTimeout(
			() => reject(new Error(`fuse-native server did not mount ${mountpoint} within ${params.timeoutMs ?? 30_000} ms: ${stderr.trim()}`)),
			params.timeoutMs ?? 30_000,
		);
		let out = "";
		child.stdout!.setEncoding("utf8").on("data", (d: string) => {
			out += d;
			if (out.includes("ready\n")) {
				clearTimeout(timer);
				resolve();
			}
		});
		child.on("close", (code) => {
			clearTimeout(timer);
			if (/libfuse\.so\.2/.test(stderr)) {
				reject(new Unavailable("fuse-native needs libfuse.so.2, which is not installed: apt-get install libfuse2 (Debian/Ubuntu)"));
			} else if (/Cannot find module 'fuse-native'|cannot load/.test(stderr)) {
				reject(new Unavailable(`fuse-native (an optional dependency) cannot load: ${stderr.trim().split("\n")[0]}; npm install fuse-native`));
			} else {
				reject(new Error(`fuse-native server exited with ${code} before mounting: ${stderr.trim()}`));
			}
		});
	});
	return { mountMs: performance.now() - t0 };
}
