import { type AddressInfo, createServer, type Server, type Socket } from "node:net";

/** What a raw test server sees of one request. */
export interface SeenRequest {
	/** The request head, up to and with the blank line. */
	text: string;
	/** 0 for the first request on its connection. */
	index: number;
	/** Connection number, from 0. */
	connection: number;
}

export interface RawHttpServer {
	url: URL;
	connections: number;
	requests: SeenRequest[];
	/** Connection numbers whose socket has closed (either side). */
	closed: Set<number>;
	/** Cuts every connection and stops listening. */
	close(): Promise<void>;
}

/**
 * A TCP server on 127.0.0.1 that answers each request (head read up to the
 * blank line) by calling `answer`, which writes exact bytes to the socket:
 * the test controls every byte on the wire and how it is split. Answers on
 * one connection run one after another; a throwing answer cuts it.
 */
export async function startRawHttpServer(answer: (sock: Socket, req: SeenRequest) => unknown, params: { path?: string } = {}): Promise<RawHttpServer> {
	const sockets = new Set<Socket>();
	const srv: RawHttpServer = {
		url: new URL("http://127.0.0.1/"),
		connections: 0,
		requests: [],
		closed: new Set(),
		async close() {
			for (const s of sockets) s.destroy();
			await new Promise<void>((r) => server.close(() => r()));
		},
	};
	const server: Server = createServer((sock) => {
		const connection = srv.connections++;
		sockets.add(sock);
		sock.setNoDelay(true);
		sock.on("close", () => {
			sockets.delete(sock);
			srv.closed.add(connection);
		});
		sock.on("error", () => undefined);
		let buf = "";
		let index = 0;
		let busy: Promise<unknown> = Promise.resolve();
		sock.on("data", (d: Buffer) => {
			buf += d.toString("latin1");
			for (let end = buf.indexOf("\r\n\r\n"); end >= 0; end = buf.indexOf("\r\n\r\n")) {
				const req: SeenRequest = { text: buf.slice(0, end + 4), index: index++, connection };
				buf = buf.slice(end + 4);
				srv.requests.push(req);
				busy = busy.then(() => answer(sock, req)).catch(() => void sock.destroy());
			}
		});
	});
	await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
	srv.url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}${params.path ?? "/"}`);
	return srv;
}
