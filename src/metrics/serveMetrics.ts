import { createServer, type Server } from "node:http";
import { readMountRecord } from "../mount/readMountRecord.js";
import { readMountStats } from "../mount/readMountStats.js";
import { runtimeDirFor } from "../mount/runtimeDirFor.js";
import { readBlockDeviceStats } from "../system/readBlockDeviceStats.js";
import { formatPrometheusMetrics, type MetricsSample } from "./formatPrometheusMetrics.js";

export interface ServeMetricsParams {
	/** TCP port; 0 picks a free one (read it from server.address()). */
	port: number;
	/** @default "0.0.0.0" (Prometheus scrapes from another host) */
	host?: string;
	/** The views to report. */
	mountpoints: string[];
	/** @default $MODELFS_RUN_DIR, else /run/modelfs */
	runRoot?: string;
}

/**
 * An HTTP server answering GET /metrics with the Prometheus text of the
 * given views, read fresh on every scrape. Resolves once it listens.
 */
export async function serveMetrics(params: ServeMetricsParams): Promise<Server> {
	const server = createServer((req, res) => {
		if (req.method !== "GET" || (req.url !== "/metrics" && req.url !== "/")) {
			res.writeHead(404, { "content-type": "text/plain" }).end("see /metrics\n");
			return;
		}
		collect(params)
			.then((samples) => {
				res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(formatPrometheusMetrics({ samples }));
			})
			.catch((err: Error) => {
				res.writeHead(500, { "content-type": "text/plain" }).end(`modelfs: ${err.message}\n`);
			});
	});
	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(params.port, params.host ?? "0.0.0.0", () => {
			server.off("error", reject);
			resolve();
		});
	});
	return server;
}

async function collect(params: ServeMetricsParams): Promise<MetricsSample[]> {
	const samples: MetricsSample[] = [];
	for (const mountpoint of params.mountpoints) {
		const runtimeDir = runtimeDirFor({ mountpoint, runRoot: params.runRoot });
		const stats = await readMountStats({ runtimeDir });
		const record = await readMountRecord(runtimeDir);
		const device = record ? await readBlockDeviceStats({ path: record.objectsDir }).catch(() => null) : null;
		samples.push({ mountpoint, stats, device });
	}
	return samples;
}
