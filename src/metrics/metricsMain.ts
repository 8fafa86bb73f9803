/**
 * The metrics side process of detached mounts (started for `modelfs mount
 * --metrics-port N`, and by `modelfs up` for every configured view): serves
 * /metrics and ends when no holder of its views is left. Reports `ok <port>` or `err <message>` on
 * fd 3 once, like the holder.
 */
import { closeSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { runtimeDirFor } from "../mount/runtimeDirFor.js";
import { isProcessAlive } from "../system/isProcessAlive.js";
import { serveMetrics } from "./serveMetrics.js";

function arg(name: string): string | undefined {
	const i = process.argv.indexOf(name);
	return i >= 0 ? process.argv[i + 1] : undefined;
}

function report(line: string): void {
	try {
		writeSync(3, `${line}\n`);
		closeSync(3);
	} catch {
		// started without a status pipe (by hand)
	}
}

const port = Number(arg("--port"));
const mountpoints = process.argv.flatMap((a, i) => (a === "--mountpoint" && process.argv[i + 1] !== undefined ? [process.argv[i + 1]] : []));
/** mountpoint -> its holder's pid as last seen (the first one's is given, the others are read). */
const holders = new Map(mountpoints.map((m, i) => [m, i === 0 ? Number(arg("--holder-pid")) : currentHolder(m)]));

/** A mount's holder now: a successor (a planned replacement, or after a crash) writes its pid there. */
function currentHolder(mountpoint: string): number {
	try {
		const pid = Number.parseInt(readFileSync(join(runtimeDirFor({ mountpoint, runRoot: arg("--run-root") }), "holder.pid"), "utf8"), 10);
		return Number.isInteger(pid) && pid > 0 ? pid : 0;
	} catch {
		return 0;
	}
}

/** Some listed view still has a live holder (following replacements). */
function anyHolderAlive(): boolean {
	let alive = false;
	for (const [m, pid] of holders) {
		const now = isProcessAlive(pid) ? pid : currentHolder(m) || pid;
		holders.set(m, now);
		if (isProcessAlive(now)) alive = true;
	}
	return alive;
}
try {
	const server = await serveMetrics({ port, host: arg("--address"), mountpoints, runRoot: arg("--run-root") });
	const address = server.address();
	report(`ok ${typeof address === "object" && address ? address.port : port}`);
	const timer = setInterval(() => {
		if (!anyHolderAlive()) {
			clearInterval(timer);
			server.close();
			server.closeAllConnections();
		}
	}, 1000);
	process.on("SIGTERM", () => {
		clearInterval(timer);
		server.close();
		server.closeAllConnections();
	});
} catch (err) {
	report(`err ${(err as Error).message}`);
	process.exitCode = 1;
}
