import { execFile } from "node:child_process";
import { daemonBinaryPath } from "./daemonBinaryPath.js";

export interface DaemonBinaryVersionParams {
	/** @default daemonBinaryPath() */
	binary?: string;
}

/** The version string compiled into a `modelfs-fused` (`modelfs-fused --version`), e.g. `0.1.0+1a2b3c4d5e6f`. */
export function daemonBinaryVersion(params: DaemonBinaryVersionParams = {}): Promise<string> {
	const bin = params.binary ?? daemonBinaryPath();
	return new Promise((resolve, reject) => {
		execFile(bin, ["--version"], { timeout: 10_000 }, (err, stdout) => {
			if (err) return reject(err);
			resolve(stdout.trim().replace(/^modelfs-fused /, ""));
		});
	});
}
