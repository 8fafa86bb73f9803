/**
 * The metrics side process of a detached mount (started by startMount for
 * `modelfs mount --metrics-port N`): serves /metrics and ends when the
 * mount's holder process is gone. Reports `ok <port>` or `err <message>` on
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
const mountpoint = arg("--mountpoint") ?? "";
let holderPid = Number(arg("--holder-pid"));

/** The mount's holder now: a successor (a planned replacement, or after a crash) writes its pid there. */
function currentHolder(): number {
	try {
		const pid = Number.parseInt(readFileSync(join(runtimeDirFor({ mountpoint, runRoot: arg("--run-root") }), "holder.pid"), "utf8"), 10);
		return Number.isInteger(pid) && pid > 0 ? pid : 0;
	} catch {
		return 0;
	}
}
try {
	const server = await serveMetrics({ port, host: arg("--address"), mountpoints: [mountpoint], runRoot: arg("--run-root") });
	const address = server.address();
	report(`ok ${typeof address === "object" && address ? address.port : port}`);
	const timer = setInterval(() => {
		if (!isProcessAlive(holderPid)) holderPid = currentHolder() || holderPid;
		if (!isProcessAlive(holderPid)) {
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
