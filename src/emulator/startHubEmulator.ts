import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddRepoParams, CommitParams } from "./HubEmulator.js";
import { HubEmulator } from "./HubEmulator.js";

export interface StartHubEmulatorParams {
	/**
	 * Port on 127.0.0.1.
	 * @default 0 (any free port)
	 */
	port?: number;
	/**
	 * Where `{ generate }` contents are written; removed by close() only when
	 * the emulator made it.
	 * @default a new folder under os.tmpdir()
	 */
	dataDir?: string;
	/**
	 * Entries per tree page; a small value makes listings paginate (Link: rel="next").
	 * @default 1000
	 */
	treePageSize?: number;
	/** Repos to declare (access settings) before serving. */
	repos?: AddRepoParams[];
	/** Commits to make, in order, before serving. */
	commits?: CommitParams[];
}

export interface RunningHubEmulator {
	/** `http://127.0.0.1:<port>`: pass it as HF_ENDPOINT or `hubUrl`. */
	url: string;
	port: number;
	/** State, fault switches and counters (add repos and commits at run time here). */
	hub: HubEmulator;
	/** Stops the server (open connections are cut) and removes generated files. */
	close(): Promise<void>;
}

/**
 * Starts the hub emulator: a real HTTP server on 127.0.0.1 answering the
 * routes `@huggingface/hub` 2.x requests, for ingest tests, the ingest bench
 * and `modelfs demo`. Nothing it serves comes from the network.
 */
export async function startHubEmulator(params: StartHubEmulatorParams = {}): Promise<RunningHubEmulator> {
	if (params.port !== undefined && (!Number.isInteger(params.port) || params.port < 0 || params.port > 65535)) {
		throw new TypeError(`startHubEmulator: bad \`port\` ${params.port}`);
	}
	const ownDir = params.dataDir === undefined;
	const dataDir = params.dataDir ?? (await mkdtemp(join(tmpdir(), "modelfs-hub-emulator-")));
	await mkdir(dataDir, { recursive: true });
	const hub = new HubEmulator({ dataDir, treePageSize: params.treePageSize ?? 1000 });
	for (const r of params.repos ?? []) hub.addRepo(r);
	for (const c of params.commits ?? []) await hub.commit(c);

	const sockets = new Set<Socket>();
	const server = createServer({ keepAlive: true }, (req, res) => hub.handle(req, res));
	server.on("connection", (s) => {
		// Big writes without Nagle: the bench compares us with curl on loopback.
		s.setNoDelay(true);
		sockets.add(s);
		s.on("close", () => sockets.delete(s));
	});
	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(params.port ?? 0, "127.0.0.1", () => resolve());
	});
	const port = (server.address() as AddressInfo).port;
	const url = `http://127.0.0.1:${port}`;
	hub.url = url;
	hub.server = server;
	let closed = false;
	return {
		url,
		port,
		hub,
		async close() {
			if (closed) return;
			closed = true;
			for (const s of sockets) s.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
			if (ownDir) await rm(dataDir, { recursive: true, force: true });
		},
	};
}
