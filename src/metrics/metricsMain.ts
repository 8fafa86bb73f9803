/**
 * The metrics side process of a detached mount (started by startMount for
 * `modelfs mount --metrics-port N`): serves /metrics and ends when the
 * mount's holder process is gone. Reports `ok <port>` or `err <message>` on
 * fd 3 once, like the holder.
 */
import { closeSync, writeSync } from "node:fs";
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
const holderPid = Number(arg("--holder-pid"));
try {
	const server = await serveMetrics({ port, host: arg("--address"), mountpoints: [mountpoint], runRoot: arg("--run-root") });
	const address = server.address();
	report(`ok ${typeof address === "object" && address ? address.port : port}`);
	const timer = setInterval(() => {
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
