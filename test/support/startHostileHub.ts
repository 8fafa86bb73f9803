import { createHash } from "node:crypto";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";

/** The three kinds of request ingest sends: model info, the tree listing, a file's bytes. */
export type HostileRoute = "info" | "tree" | "file";

export interface HostileFile {
	/** The name as listed, taken as is: `..`, NUL, 300 bytes, a leading `/`. */
	path: string;
	content: Buffer | string;
	/** The size the tree listing gives. @default the content's length */
	listedSize?: number;
}

/** What goes wrong. Faults act on the hub only; the other host answers plainly. */
export type HostileFault =
	/** Accept the connection, read the request, never answer. */
	| { kind: "silent"; route: HostileRoute }
	/** Send the head and the first `bytes` of the body, then nothing, the socket left open. */
	| { kind: "stall"; route: HostileRoute; bytes?: number }
	/** Answer every request with a redirect to itself. */
	| { kind: "redirectLoop"; route: HostileRoute }
	/** Redirect to the same path on the other host, which serves it. */
	| { kind: "redirectAway"; route: HostileRoute }
	/** The tree's first page (one entry) here, `Link: rel="next"` to the rest on the other host. */
	| { kind: "linkAway" }
	/** Answer `status` with a JSON error body that echoes the request's Authorization header. */
	| { kind: "echoAuth"; route: HostileRoute; status: number }
	/** `extra` bytes of garbage after the Content-Length (> 0), or that many fewer and then a close (< 0). */
	| { kind: "bodyLength"; route: HostileRoute; extra: number };

export interface StartHostileHubParams {
	/** The files of the one repo it serves, under any repo name, at one commit. */
	files: HostileFile[];
	fault?: HostileFault;
}

export interface HostileRequest {
	/** Which of the two servers saw it. */
	server: "hub" | "other";
	route: HostileRoute | "other";
	/** Path and query. */
	target: string;
	/** Lowercased names. */
	headers: Map<string, string>;
}

export interface HostileHub {
	/** `http://127.0.0.1:<port>`: HF_ENDPOINT. */
	url: string;
	/** The second server, on another address: `http://127.0.0.2:<port>` (`http://localhost:<port>` where 127.0.0.2 cannot be bound). */
	otherUrl: string;
	/** The commit every revision resolves to. */
	commit: string;
	/** Every request either server read, in order. */
	requests: HostileRequest[];
	/** Cuts every connection and stops both servers. */
	close(): Promise<void>;
}

/**
 * A hub that misbehaves on purpose, for the fault tests of ingest: a raw TCP
 * server (every byte on the wire is the test's) answering just the routes
 * @huggingface/hub and the downloads use (model info, tree listing, resolve
 * with Range), plus a second server on another address to redirect to,
 * which records whether the token reached it.
 */
export async function startHostileHub(params: StartHostileHubParams): Promise<HostileHub> {
	const files = params.files.map((f) => {
		const content = Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content, "utf8");
		const oid = createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
		return { path: f.path, content, oid, listedSize: f.listedSize ?? content.length };
	});
	const commit = createHash("sha1")
		.update(files.map((f) => `${f.path}\0${f.oid}`).join("\n"))
		.digest("hex");
	const requests: HostileRequest[] = [];
	const sockets = new Set<Socket>();
	const hub: HostileHub = { url: "", otherUrl: "", commit, requests, close: async () => undefined };

	const serve = (server: "hub" | "other"): Server =>
		createServer((sock) => {
			sockets.add(sock);
			sock.on("close", () => sockets.delete(sock));
			sock.on("error", () => undefined);
			let buf = Buffer.alloc(0);
			let busy = false;
			sock.on("data", (d: Buffer) => {
				buf = Buffer.concat([buf, d]);
				// One request at a time: a fault may leave it unanswered for good.
				while (!busy) {
					const end = buf.indexOf("\r\n\r\n");
					if (end < 0) return;
					const text = buf.subarray(0, end).toString("latin1");
					buf = buf.subarray(end + 4);
					const [line, ...lines] = text.split("\r\n");
					const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(":")).trim().toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
					const target = line.split(" ")[1] ?? "/";
					const req: HostileRequest = { server, route: routeOf(target), target, headers };
					requests.push(req);
					busy = !answer(sock, req);
				}
			});
		});

	/** Writes the answer; false when the connection is left hanging. */
	function answer(sock: Socket, req: HostileRequest): boolean {
		const base = req.server === "hub" ? hub.url : hub.otherUrl;
		const fault = req.server === "hub" ? params.fault : undefined;
		const hit = fault !== undefined && "route" in fault && fault.route === req.route;
		if (hit && fault.kind === "silent") return false;
		if (hit && fault.kind === "redirectLoop") return write(sock, 302, { Location: `${base}${req.target}` }, "");
		if (hit && fault.kind === "redirectAway") return write(sock, 302, { Location: `${hub.otherUrl}${req.target}` }, "");
		if (hit && fault.kind === "echoAuth") {
			const body = JSON.stringify({ error: `refused the request with Authorization: ${req.headers.get("authorization") ?? "(none)"}` });
			return write(sock, fault.status, { "Content-Type": "application/json" }, body);
		}
		const plain = plainAnswer(req, fault);
		if (hit && fault.kind === "stall") {
			sock.write(head(plain.status, { ...plain.headers, "Content-Length": String(plain.body.length) }));
			sock.write(plain.body.subarray(0, fault.bytes ?? 0));
			return false;
		}
		if (hit && fault.kind === "bodyLength" && plain.status < 300) {
			sock.write(head(plain.status, { ...plain.headers, "Content-Length": String(plain.body.length) }));
			if (fault.extra >= 0) {
				sock.write(Buffer.concat([plain.body, Buffer.alloc(fault.extra, 0x21)]));
				return true;
			}
			sock.end(plain.body.subarray(0, Math.max(0, plain.body.length + fault.extra)));
			return false;
		}
		return write(sock, plain.status, plain.headers, plain.body);
	}

	/** What a well-behaved hub would answer. */
	function plainAnswer(req: HostileRequest, fault: HostileFault | undefined): { status: number; headers: Record<string, string>; body: Buffer } {
		const url = new URL(req.target, "http://hub.invalid");
		const json = (status: number, value: unknown, extra: Record<string, string> = {}) => ({
			status,
			headers: { "Content-Type": "application/json", ...extra },
			body: Buffer.from(JSON.stringify(value)),
		});
		if (req.route === "info") {
			const name = /^\/api\/(?:models|datasets)\/(.+?)\/revision\//.exec(url.pathname)?.[1] ?? "org/repo";
			return json(200, { _id: "0".repeat(24), id: decodeURIComponent(name), sha: commit, private: false, gated: false, downloads: 0, likes: 0, tags: [], siblings: [] });
		}
		if (req.route === "tree") {
			const entries = files.map((f) => ({ type: "file", oid: f.oid, size: f.listedSize, path: f.path }));
			const cursor = Number(url.searchParams.get("cursor") ?? "0");
			if (fault?.kind === "linkAway" && req.server === "hub" && cursor === 0) {
				const next = new URL(`${hub.otherUrl}${url.pathname}${url.search}`);
				next.searchParams.set("cursor", "1");
				return json(200, entries.slice(0, 1), { Link: `<${next.href}>; rel="next"` });
			}
			return json(200, entries.slice(cursor));
		}
		if (req.route === "file") {
			const m = /\/resolve\/[0-9a-f]{40}\/(.+)$/.exec(url.pathname);
			const path = (m?.[1] ?? "").split("/").map(decodeURIComponent).join("/");
			const f = files.find((x) => x.path === path);
			if (!f) return json(404, { error: `${path} does not exist` }, { "X-Error-Code": "EntryNotFound" });
			const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.get("range") ?? "");
			const octets = { "Content-Type": "application/octet-stream", ETag: `"${f.oid}"` };
			if (!range) return { status: 200, headers: octets, body: f.content };
			const start = Number(range[1]);
			const end = Math.min(f.content.length, range[2] === "" ? f.content.length : Number(range[2]) + 1);
			if (start >= f.content.length) return json(416, { error: "range not satisfiable" }, { "Content-Range": `bytes */${f.content.length}` });
			return { status: 206, headers: { ...octets, "Content-Range": `bytes ${start}-${end - 1}/${f.content.length}` }, body: f.content.subarray(start, end) };
		}
		return json(404, { error: `no route for ${url.pathname}` });
	}

	const hubServer = serve("hub");
	const otherServer = serve("other");
	const hubPort = await listen(hubServer, "127.0.0.1");
	hub.url = `http://127.0.0.1:${hubPort}`;
	try {
		hub.otherUrl = `http://127.0.0.2:${await listen(otherServer, "127.0.0.2")}`;
	} catch {
		hub.otherUrl = `http://localhost:${await listen(otherServer, "localhost")}`;
	}
	hub.close = async () => {
		for (const s of sockets) s.destroy();
		await Promise.all([hubServer, otherServer].map((s) => new Promise<void>((r) => s.close(() => r()))));
	};
	return hub;
}

function routeOf(target: string): HostileRoute | "other" {
	const path = target.split("?")[0];
	if (/^\/api\/(models|datasets)\/.+\/revision\//.test(path)) return "info";
	if (/^\/api\/(models|datasets)\/.+\/tree\//.test(path)) return "tree";
	if (/\/resolve\//.test(path)) return "file";
	return "other";
}

function head(status: number, headers: Record<string, string>): string {
	let text = `HTTP/1.1 ${status} ${status < 300 ? "OK" : status < 400 ? "Found" : "Error"}\r\n`;
	for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
	return `${text}\r\n`;
}

/** A complete answer on a kept-alive connection. */
function write(sock: Socket, status: number, headers: Record<string, string>, body: Buffer | string): true {
	const bytes = typeof body === "string" ? Buffer.from(body) : body;
	sock.write(head(status, { ...headers, "Content-Length": String(bytes.length) }));
	sock.write(bytes);
	return true;
}

function listen(server: Server, host: string): Promise<number> {
	return new Promise((resolve, reject) => {
		server.once("error", reject);
		server.listen(0, host, () => {
			server.off("error", reject);
			resolve((server.address() as AddressInfo).port);
		});
	});
}
