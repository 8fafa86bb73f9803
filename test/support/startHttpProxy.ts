/**
 * A real forward HTTP proxy on 127.0.0.1, for tests of proxy support. It
 * handles the two forms a client uses: `CONNECT host:port` (a TCP tunnel,
 * the way https goes through a proxy) and absolute-form requests
 * (`GET http://host:port/path HTTP/1.1`, the way plain http goes). It records
 * what it saw so tests can assert the traffic really went through it.
 *
 * Each forwarded request gets its own upstream connection with
 * `Connection: close`, so the end of the upstream response is the upstream
 * close; the client connection stays open (keep-alive) whenever the response
 * has its own framing (Content-Length, chunked, or no body), since the client
 * finds the end of a response from those, not from a close.
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";

export interface StartHttpProxyParams {
	/** Credentials the proxy demands in `Proxy-Authorization: Basic`. @default none: everyone is let through */
	auth?: { user: string; pass: string };
}

export interface RunningHttpProxy {
	/** `http://127.0.0.1:<port>` */
	url: string;
	port: number;
	/** CONNECT targets seen (`host:port`), refused ones too, in order. */
	connects: string[];
	/** Absolute-form request lines seen (`GET http://h:p/path HTTP/1.1`), refused ones too, in order. */
	requests: string[];
	/** How many 407 answers were sent. */
	refused: number;
	/** Destroys every socket it opened or accepted and stops listening. */
	close(): Promise<void>;
}

interface RequestHead {
	method: string;
	target: string;
	version: string;
	/** Header lines as [name, value], in order, names as sent. */
	headers: Array<[string, string]>;
}

const HEAD_LIMIT = 64 * 1024;

function parseHead(text: string): RequestHead | null {
	const lines = text.split("\r\n");
	const m = /^(\S+) (\S+) (HTTP\/1\.[01])$/.exec(lines[0] ?? "");
	if (!m) return null;
	const headers: Array<[string, string]> = [];
	for (const line of lines.slice(1)) {
		if (line === "") continue;
		const colon = line.indexOf(":");
		if (colon <= 0) return null;
		headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
	}
	return { method: m[1]!, target: m[2]!, version: m[3]!, headers };
}

function header(headers: Array<[string, string]>, name: string): string | undefined {
	return headers.find(([k]) => k.toLowerCase() === name)?.[1];
}

/** Headers that concern one hop only (RFC 9110 7.6.1), plus the proxy's own. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "trailer", "upgrade"]);

function simpleResponse(status: string, extra: string[] = [], close = false): string {
	return [`HTTP/1.1 ${status}`, ...extra, "Content-Length: 0", ...(close ? ["Connection: close"] : []), "", ""].join("\r\n");
}

/** Starts the proxy on a free port of 127.0.0.1. */
export async function startHttpProxy(params: StartHttpProxyParams = {}): Promise<RunningHttpProxy> {
	const sockets = new Set<Socket>();
	const track = (s: Socket): Socket => {
		sockets.add(s);
		s.on("close", () => sockets.delete(s));
		// Errors end in a close, handled where the socket is used.
		s.on("error", () => undefined);
		return s;
	};
	const wantAuth = params.auth === undefined ? null : `Basic ${Buffer.from(`${params.auth.user}:${params.auth.pass}`).toString("base64")}`;

	const server: Server = createServer((client) => {
		track(client);
		client.setNoDelay(true);
		let buf = Buffer.alloc(0);
		/** Whether a request is being answered: the next head waits until it is done. */
		let busy = false;
		let tunnelled = false;

		const onData = (d: Buffer): void => {
			buf = Buffer.concat([buf, d]);
			pump();
		};
		client.on("data", onData);

		function pump(): void {
			while (!busy && !tunnelled && !client.destroyed) {
				const end = buf.indexOf("\r\n\r\n");
				if (end < 0) {
					if (buf.length > HEAD_LIMIT) client.destroy();
					return;
				}
				const head = parseHead(buf.subarray(0, end).toString("latin1"));
				buf = buf.subarray(end + 4);
				if (head === null) {
					client.end(simpleResponse("400 Bad Request", [], true));
					return;
				}
				handle(head);
			}
		}

		function authorized(head: RequestHead): boolean {
			if (wantAuth === null || header(head.headers, "proxy-authorization") === wantAuth) return true;
			result.refused++;
			client.write(simpleResponse("407 Proxy Authentication Required", ['Proxy-Authenticate: Basic realm="test"']));
			return false;
		}

		function handle(head: RequestHead): void {
			if (head.method === "CONNECT") {
				result.connects.push(head.target);
				if (!authorized(head)) return;
				tunnel(head.target);
				return;
			}
			let url: URL;
			try {
				url = new URL(head.target);
				if (url.protocol !== "http:") throw new TypeError(url.protocol);
			} catch {
				// Origin-form or a scheme this proxy does not forward.
				client.end(simpleResponse("400 Bad Request", [], true));
				return;
			}
			result.requests.push(`${head.method} ${head.target} ${head.version}`);
			// A refused request's body (clients send none with GET) would be taken for the next head.
			const bodyLength = Number(header(head.headers, "content-length") ?? "0");
			if (header(head.headers, "transfer-encoding") !== undefined || !Number.isSafeInteger(bodyLength) || bodyLength < 0) {
				client.end(simpleResponse("501 Not Implemented", [], true));
				return;
			}
			if (!authorized(head)) {
				if (bodyLength > 0) client.end();
				return;
			}
			forward(head, url, bodyLength);
		}

		function tunnel(target: string): void {
			const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
			if (!m) {
				client.end(simpleResponse("400 Bad Request", [], true));
				return;
			}
			tunnelled = true;
			client.off("data", onData);
			client.pause();
			const upstream = track(connect({ host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]), noDelay: true }));
			let established = false;
			upstream.once("connect", () => {
				established = true;
				client.write("HTTP/1.1 200 Connection established\r\n\r\n");
				// Bytes the client sent right after CONNECT (a TLS hello) belong to the tunnel.
				if (buf.length > 0) upstream.write(buf);
				buf = Buffer.alloc(0);
				client.pipe(upstream);
				upstream.pipe(client);
			});
			// A cut on either side cuts the other, so a cut upstream reaches the
			// client; a target that cannot be reached gets a 502 instead.
			upstream.once("close", (hadError) => {
				if (!established) {
					if (client.writable) client.end(simpleResponse("502 Bad Gateway", [], true));
				} else if (hadError) client.destroy();
				// A clean end is passed on by pipe(), after the bytes before it.
			});
			client.once("close", () => upstream.destroy());
		}

		function forward(head: RequestHead, url: URL, bodyLength: number): void {
			busy = true;
			const clientWantsClose =
				/\bclose\b/i.test(header(head.headers, "connection") ?? "") || (head.version === "HTTP/1.0" && !/keep-alive/i.test(header(head.headers, "connection") ?? ""));
			const lines = [`${head.method} ${url.pathname}${url.search} HTTP/1.1`];
			if (header(head.headers, "host") === undefined) lines.push(`Host: ${url.host}`);
			for (const [k, v] of head.headers) if (!HOP_BY_HOP.has(k.toLowerCase())) lines.push(`${k}: ${v}`);
			lines.push("Connection: close", "", "");
			const upstream = track(connect({ host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || 80), noDelay: true }));
			let connected = false;
			upstream.once("connect", () => {
				connected = true;
				upstream.write(lines.join("\r\n"));
				// A request body (none for GET) follows the head as it comes.
				if (bodyLength > 0) {
					const now = buf.subarray(0, bodyLength);
					buf = buf.subarray(now.length);
					upstream.write(now);
					let left = bodyLength - now.length;
					if (left > 0) {
						client.off("data", onData);
						const more = (d: Buffer): void => {
							const take = d.subarray(0, left);
							upstream.write(take);
							left -= take.length;
							if (left === 0) {
								client.off("data", more);
								client.on("data", onData);
								if (take.length < d.length) buf = Buffer.concat([buf, d.subarray(take.length)]);
							}
						};
						client.on("data", more);
					}
				}
			});

			let respHead = Buffer.alloc(0);
			let headDone = false;
			/** Body bytes still expected under Content-Length, or null when the response is framed otherwise. */
			let remaining: number | null = null;
			let keepAlive = false;
			const onClientClose = (): void => void upstream.destroy();
			client.once("close", onClientClose);

			upstream.on("data", (d: Buffer) => {
				if (headDone) {
					if (remaining !== null) remaining -= d.length;
					// Backpressure: a slow client slows the upstream read, not memory.
					if (!client.write(d)) {
						upstream.pause();
						client.once("drain", () => upstream.resume());
					}
					return;
				}
				respHead = Buffer.concat([respHead, d]);
				const end = respHead.indexOf("\r\n\r\n");
				if (end < 0) {
					if (respHead.length > HEAD_LIMIT) upstream.destroy();
					return;
				}
				headDone = true;
				const rest = respHead.subarray(end + 4);
				const [statusLine = "", ...headerLines] = respHead.subarray(0, end).toString("latin1").split("\r\n");
				const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? "0");
				const kept = headerLines.filter((l) => !HOP_BY_HOP.has(l.slice(0, l.indexOf(":")).trim().toLowerCase()));
				const length = headerLines.map((l) => /^content-length:\s*(\d+)\s*$/i.exec(l)?.[1]).find((v) => v !== undefined);
				const noBody = head.method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200);
				if (noBody) remaining = 0;
				else if (length !== undefined) remaining = Number(length);
				// Chunked or close-delimited bodies end the client connection with
				// the upstream one: simpler than re-parsing chunks, and correct.
				keepAlive = !clientWantsClose && remaining !== null;
				client.write(Buffer.concat([Buffer.from([statusLine, ...kept, `Connection: ${keepAlive ? "keep-alive" : "close"}`, "", ""].join("\r\n"), "latin1"), rest]));
				if (remaining !== null) remaining -= rest.length;
			});
			upstream.once("close", () => {
				client.off("close", onClientClose);
				if (!connected) {
					if (!client.destroyed) client.end(simpleResponse("502 Bad Gateway", [], true));
					return;
				}
				if (!headDone || (remaining !== null && remaining !== 0)) {
					// A response cut short (or never begun) must reach the client as a cut.
					client.destroy();
					return;
				}
				if (!keepAlive) {
					client.end();
					return;
				}
				busy = false;
				pump();
			});
		}
	});

	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => resolve());
	});
	const port = (server.address() as AddressInfo).port;
	let closed = false;
	const result: RunningHttpProxy = {
		url: `http://127.0.0.1:${port}`,
		port,
		connects: [],
		requests: [],
		refused: 0,
		async close() {
			if (closed) return;
			closed = true;
			for (const s of sockets) s.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
	return result;
}
