/**
 * One HTTP/1.1 client connection (TCP or TLS) that receives response bodies
 * straight into memory its caller owns. It uses the `onread` option of
 * net/tls sockets with a buffer chosen before every read, so the bytes of a
 * download cost the kernel's copy and nothing else: no Buffer per socket
 * read, no garbage for V8 to collect. node:http, undici and fetch all
 * allocate a Buffer per read; measured over loopback on a 2-core VM,
 * receiving 1 GiB costs 0.72 CPU-s with node:http and 0.14 s this way (curl:
 * 0.15 s), and on such a node that CPU is what the hash workers need.
 *
 * It speaks only what ranged GETs of files need: one request at a time,
 * Content-Length, chunked and close-delimited bodies, keep-alive.
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { HttpTimeoutError } from "./HttpTimeoutError.js";

/** Status line and headers of a response. */
export interface HttpResponseHead {
	status: number;
	/** Lowercased names; a repeated header's values joined with ", ". */
	headers: Map<string, string>;
	/** Body bytes announced by Content-Length; -1 for chunked or close-delimited bodies. */
	contentLength: number;
}

/**
 * Where a body goes. The connection asks for memory before every socket
 * read and tells how many bytes landed at its start.
 */
export interface BodySink {
	/** Memory for the next bytes; never empty. Bytes land at its start. */
	memory(): Uint8Array;
	/**
	 * `n` bytes landed at the start of the last memory() returned. Returning
	 * false stops reading from the socket until resume(); over TLS a few more
	 * calls may still come (records already decrypted), so false is a request
	 * to slow down, not a hard stop. A throw fails the body.
	 */
	landed(n: number): boolean;
}

export interface HttpRequest {
	method: "GET" | "HEAD";
	/** Path and query. */
	target: string;
	/** Host is added. */
	headers: Record<string, string>;
}

/** Bytes of a response head, and of the reads a chunked body goes through. */
const SCRATCH = 64 * 1024;
/**
 * The window for reads between a head and readBody(). Only TLS has any (see
 * #nextBuffer), but over TCP too the first read after readBody() lands in
 * the window given before it, and is copied: kept small.
 */
const EARLY_READ = 16 * 1024;

type BodyMode = "none" | "length" | "chunked" | "close";
type ChunkState = "size" | "data" | "data-end" | "trailer";

const CRLFCRLF = Buffer.from("\r\n\r\n");

export class HttpConnection {
	/** `http://host:port` or `https://host:port`: which requests it may carry. */
	readonly origin: string;
	/** Requests this connection has carried (more than 1: it was reused). */
	requests = 0;
	#socket: Socket;
	/** Grows (rarely: see #nextBuffer), so it is not readonly. */
	#scratch = Buffer.allocUnsafe(SCRATCH + EARLY_READ);
	/** Head phase: bytes gathered in scratch. Body phase: end of the unprocessed scratch bytes. */
	#fill = 0;
	/** Body phase: start of the scratch bytes not yet processed (left over from the head). */
	#pending = 0;
	/** The buffer the socket reads into next, and whether it is the sink's memory. */
	#given: Uint8Array;
	#givenIsSink = false;
	#state: "connecting" | "idle" | "head" | "body" | "closed" = "connecting";
	#error: Error | null = null;
	#method: HttpRequest["method"] = "GET";
	#head: { resolve: (h: HttpResponseHead) => void; reject: (e: Error) => void } | null = null;
	/** Bytes of the head seen; a reused connection that fails before any may be retried. */
	#headBytes = 0;
	#keepAlive = false;
	#mode: BodyMode = "none";
	/** Length mode: body bytes still to come. Chunked: bytes left in the current chunk. */
	#remaining = 0;
	#chunk: ChunkState = "size";
	#line = "";
	#sink: BodySink | null = null;
	#body: { resolve: () => void; reject: (e: Error) => void } | null = null;
	#paused = false;
	#onClose: Array<() => void> = [];
	/** Through an http proxy to an http origin: request targets in absolute form. */
	#absoluteForm = false;
	#proxyAuth: string | null = null;
	/** TLS in a proxy tunnel: bytes come as 'data' buffers and are copied (see #onData). */
	#copyMode = false;
	/** Copy mode: bytes of a 'data' buffer not yet taken when reading had to stop. */
	#stash: Buffer | null = null;

	private constructor(origin: string) {
		this.origin = origin;
		this.#given = this.#scratch;
		// Set right after: creating the socket already asks #nextBuffer for memory.
		this.#socket = null as unknown as Socket;
	}

	/**
	 * Opens a connection to the URL's origin; https uses TLS with the
	 * system's CAs (and NODE_EXTRA_CA_CERTS). Through an http:// `proxy`,
	 * http requests go to the proxy in absolute form and https ones through
	 * a CONNECT tunnel; TLS inside a tunnel cannot use `onread` (Node ignores
	 * it for a TLS socket over an existing socket), so those bytes take one
	 * copy from the socket's buffers into the caller's memory. A connection
	 * not up within `connectTimeoutMs` (when given) fails with an
	 * HttpTimeoutError of phase `connect`.
	 */
	static async open(url: URL, signal?: AbortSignal, proxy?: URL | null, connectTimeoutMs?: number): Promise<HttpConnection> {
		if (connectTimeoutMs === undefined || connectTimeoutMs <= 0) return HttpConnection.#open(url, signal, proxy);
		// One limit for all of it (DNS, TCP, a proxy's CONNECT, TLS): a host
		// that drops SYNs would otherwise hold the request for the kernel's
		// minutes of SYN retries.
		const limit = new AbortController();
		const timer = setTimeout(() => limit.abort(new HttpTimeoutError("connect", url.host, connectTimeoutMs)), connectTimeoutMs);
		const onAbort = (): void => limit.abort(signal?.reason);
		if (signal?.aborted) onAbort();
		else signal?.addEventListener("abort", onAbort, { once: true });
		try {
			return await HttpConnection.#open(url, limit.signal, proxy);
		} finally {
			clearTimeout(timer);
			signal?.removeEventListener("abort", onAbort);
		}
	}

	static async #open(url: URL, signal?: AbortSignal, proxy?: URL | null): Promise<HttpConnection> {
		const https = url.protocol === "https:";
		if (!https && url.protocol !== "http:") throw new TypeError(`unsupported protocol ${url.protocol}`);
		const port = Number(url.port || (https ? 443 : 80));
		const host = url.hostname.replace(/^\[|\]$/g, "");
		const servername = /^[\d.]+$|:/.test(host) ? undefined : host;
		const c = new HttpConnection(`${url.protocol}//${url.host}`);
		const onread = {
			buffer: (): Uint8Array => c.#nextBuffer(),
			callback: (n: number, buf: Uint8Array): boolean => c.#onRead(n, buf),
		};
		if (!proxy) {
			// tls.connect takes `onread` like net.connect (Node docs); @types/node does not list it.
			const tlsOptions = { host, port, servername, ALPNProtocols: ["http/1.1"], onread };
			const socket: Socket = https ? tlsConnect(tlsOptions) : netConnect({ host, port, onread, noDelay: true });
			return c.#attach(socket, https ? "secureConnect" : "connect", signal);
		}
		const proxyAuth = proxyAuthorization(proxy);
		if (!https) {
			c.#absoluteForm = true;
			c.#proxyAuth = proxyAuth;
			const socket = netConnect({ host: proxy.hostname.replace(/^\[|\]$/g, ""), port: Number(proxy.port || 80), onread, noDelay: true });
			return c.#attach(socket, "connect", signal);
		}
		const tunnel = await openTunnel({ proxy, target: `${url.hostname}:${port}`, auth: proxyAuth, signal });
		c.#copyMode = true;
		const socket = tlsConnect({ socket: tunnel, servername, ALPNProtocols: ["http/1.1"] });
		socket.on("data", (b: Buffer) => c.#onData(b));
		return c.#attach(socket, "secureConnect", signal);
	}

	#attach(socket: Socket, ready: "connect" | "secureConnect", signal?: AbortSignal): Promise<HttpConnection> {
		this.#socket = socket;
		socket.on("error", (err) => this.#fail(err));
		socket.on("end", () => this.#onEnd());
		socket.on("close", () => this.#onEnd());
		return new Promise((resolve, reject) => {
			const onAbort = (): void => this.destroy(HttpTimeoutError.orAbort(signal));
			// #head first: an abort fails the connection through it.
			this.#head = {
				resolve: () => undefined,
				reject: (e) => {
					signal?.removeEventListener("abort", onAbort);
					reject(e);
				},
			};
			if (signal?.aborted) onAbort();
			else signal?.addEventListener("abort", onAbort, { once: true });
			socket.once(ready, () => {
				signal?.removeEventListener("abort", onAbort);
				this.#head = null;
				if (this.#state === "closed") return reject(this.#error ?? new Error("connection closed"));
				this.#state = "idle";
				resolve(this);
			});
		});
	}

	/**
	 * Copy mode (TLS in a proxy tunnel): feeds a socket 'data' buffer through
	 * the same path as onread, a piece at a time into the memory #nextBuffer
	 * gives. What is left when reading must stop waits for #resumeSocket.
	 */
	#onData(b: Buffer): boolean {
		let off = 0;
		while (off < b.byteLength) {
			if (this.#state === "closed") return false;
			const m = this.#nextBuffer();
			const k = Math.min(m.byteLength, b.byteLength - off);
			m.set(b.subarray(off, off + k));
			off += k;
			if (!this.#onRead(k, m)) {
				// A body that ended with this buffer: stay in flowing mode, so a close while idle is seen.
				if (this.#state === "idle" && off === b.byteLength) return true;
				if (off < b.byteLength) this.#stash = b.subarray(off);
				this.#socket.pause();
				return false;
			}
		}
		return true;
	}

	/** True while it can take a request (connected, nothing in flight, not closed). */
	get idle(): boolean {
		return this.#state === "idle";
	}

	/** True when the last request failed before any byte of its response came (a reused connection the server had closed). */
	get failedBeforeResponse(): boolean {
		return this.#headBytes === 0;
	}

	/** Calls `fn` once, when the connection closes for any reason. */
	onClose(fn: () => void): void {
		if (this.#state === "closed") fn();
		else this.#onClose.push(fn);
	}

	/** Lets the process exit while the connection sits idle in a pool. */
	unref(): void {
		this.#socket.unref();
	}

	ref(): void {
		this.#socket.ref();
	}

	/** Sends a request and resolves with the response head; read or discard the body before the next request. */
	request(req: HttpRequest): Promise<HttpResponseHead> {
		if (this.#state !== "idle") return Promise.reject(this.#error ?? new Error(`connection to ${this.origin} is ${this.#state}`));
		this.#state = "head";
		this.#method = req.method;
		this.#fill = 0;
		this.#pending = 0;
		this.#headBytes = 0;
		this.requests++;
		const host = new URL(this.origin).host;
		let text = `${req.method} ${this.#absoluteForm ? `${this.origin}${req.target}` : req.target} HTTP/1.1\r\nHost: ${host}\r\n`;
		if (this.#proxyAuth) text += `Proxy-Authorization: ${this.#proxyAuth}\r\n`;
		for (const [k, v] of Object.entries(req.headers)) {
			if (/[\r\n]/.test(k) || /[\r\n]/.test(v)) return Promise.reject(new TypeError(`header ${k} holds a line break`));
			text += `${k}: ${v}\r\n`;
		}
		text += "\r\n";
		const p = new Promise<HttpResponseHead>((resolve, reject) => (this.#head = { resolve, reject }));
		this.#socket.write(text);
		this.#resumeSocket();
		return p;
	}

	/**
	 * Streams the body of the response whose head request() gave into `sink`;
	 * resolves when the body is complete. Afterwards the connection is idle
	 * again, unless the response closes it.
	 */
	readBody(sink: BodySink): Promise<void> {
		if (this.#state !== "body" || this.#sink || this.#body) return Promise.reject(this.#error ?? new Error(`no response body to read on ${this.origin}`));
		this.#sink = sink;
		const p = new Promise<void>((resolve, reject) => (this.#body = { resolve, reject }));
		if (this.#mode === "none") {
			this.#endBody();
			return p;
		}
		// Bytes that came with the head (or after it, over TLS: see #nextBuffer).
		if (this.#fill > this.#pending) {
			let ok: boolean;
			try {
				ok = this.#consumeScratch(this.#pending, this.#fill);
			} catch (err) {
				// A throwing sink or a malformed chunked body fails the body, as it does in #onRead.
				this.#fail(err instanceof Error ? err : new Error(String(err)));
				return p;
			}
			this.#pending = this.#fill = 0;
			if (!ok) return p;
		}
		if (this.#state === "body" && !this.#paused) this.#resumeSocket();
		return p;
	}

	/** Reads a small body (error pages) as text, keeping at most `limit` bytes of it. */
	async readText(limit = 4096): Promise<string> {
		const kept = Buffer.allocUnsafe(limit);
		let used = 0;
		const trash = Buffer.allocUnsafe(16 * 1024);
		let last: Uint8Array = trash;
		await this.readBody({
			memory: () => (last = used < limit ? kept.subarray(used) : trash),
			landed: (n) => {
				if (last !== trash) used += n;
				return true;
			},
		});
		return kept.subarray(0, used).toString("utf8");
	}

	/** Continues reading after the sink returned false. */
	resume(): void {
		if (!this.#paused) return;
		this.#paused = false;
		if (this.#state === "body") this.#resumeSocket();
	}

	/** Closes the connection; a request or body in flight fails with `err`. */
	destroy(err?: Error): void {
		this.#fail(err ?? new Error(`connection to ${this.origin} closed`));
	}

	#resumeSocket(): void {
		if (this.#copyMode && this.#stash) {
			const stash = this.#stash;
			this.#stash = null;
			if (!this.#onData(stash)) return;
		}
		// With onread, resume() restarts reads when they were stopped by a false from the callback.
		this.#socket.resume();
	}

	#nextBuffer(): Uint8Array {
		this.#givenIsSink = false;
		if (this.#state === "head") {
			// #scanHead fails a head that fills SCRATCH: this is never empty.
			this.#given = this.#scratch.subarray(this.#fill, SCRATCH);
			return this.#given;
		}
		if (this.#state === "body" && !this.#sink && !this.#error) {
			// Body bytes before readBody(): over TCP none come (the head's read
			// returned false, which stops reading), but a TLS socket keeps handing
			// over what it already decrypted. They are appended to the bytes kept
			// since the head, never written over them.
			if (this.#fill + EARLY_READ > this.#scratch.byteLength) {
				const bigger = Buffer.allocUnsafe(this.#scratch.byteLength * 2);
				this.#scratch.copy(bigger, 0, 0, this.#fill);
				this.#scratch = bigger;
			}
			this.#given = this.#scratch.subarray(this.#fill, this.#fill + EARLY_READ);
			return this.#given;
		}
		if (this.#state === "body" && this.#sink && !this.#error && (this.#mode === "length" || this.#mode === "close")) {
			let m = this.#sink.memory();
			if (this.#mode === "length" && m.byteLength > this.#remaining) m = m.subarray(0, this.#remaining);
			if (m.byteLength > 0) {
				this.#givenIsSink = true;
				this.#given = m;
				return this.#given;
			}
		}
		this.#given = this.#scratch;
		return this.#given;
	}

	#onRead(n: number, buf: Uint8Array): boolean {
		try {
			if (buf !== this.#given) throw new Error(`internal: ${this.origin}: a socket read landed in memory this connection did not give`);
			if (this.#state === "head") {
				// The read may have gone to scratch at an offset given before this
				// request (after a body's last bytes came with its head): move it to
				// where the head gathers. Heads are small; this copy is rare.
				// (#nextBuffer only ever gives views of the current scratch outside a body.)
				const at = buf.byteOffset - this.#scratch.byteOffset;
				if (at !== this.#fill) this.#scratch.copyWithin(this.#fill, at, at + n);
				return this.#onHeadBytes(n);
			}
			if (this.#state === "body") {
				if (this.#givenIsSink) return this.#landed(n);
				// Bytes in scratch: a chunked body, or a read that started before the
				// sink came. #nextBuffer gave scratch from `at` on, at the end of
				// the bytes kept since the head (which readBody may have consumed since).
				const at = buf.byteOffset - this.#scratch.byteOffset;
				if (this.#sink) {
					const ok = this.#consumeScratch(at, at + n);
					this.#pending = this.#fill = 0;
					return ok && !this.#paused;
				}
				if (at !== this.#fill) throw new Error(`internal: ${this.origin}: body bytes landed at ${at} of scratch, not at ${this.#fill}`);
				this.#fill += n;
				return false;
			}
			// Idle: a server must not send anything unasked.
			if (this.#state === "idle") this.#fail(new Error(`${this.origin} sent ${n} bytes while no request was open`));
			return false;
		} catch (err) {
			this.#fail(err instanceof Error ? err : new Error(String(err)));
			return false;
		}
	}

	/** Zero-copy path: `n` bytes are already in the sink's memory. */
	#landed(n: number): boolean {
		const sink = this.#sink as BodySink;
		if (this.#mode === "length") this.#remaining -= n;
		const more = sink.landed(n);
		if (this.#mode === "length" && this.#remaining === 0) {
			this.#endBody();
			return this.#state === "idle";
		}
		if (!more) this.#paused = true;
		return more;
	}

	#onHeadBytes(n: number): boolean {
		const searchFrom = Math.max(0, this.#fill - 3);
		this.#fill += n;
		this.#headBytes += n;
		return this.#scanHead(searchFrom);
	}

	#scanHead(searchFrom: number): boolean {
		const end = this.#scratch.subarray(0, this.#fill).indexOf(CRLFCRLF, searchFrom);
		if (end < 0 ? this.#fill >= SCRATCH : end + 4 > SCRATCH) throw new Error(`${this.origin} sent a response head over ${SCRATCH} bytes`);
		if (end < 0) return true;
		const head = parseHead(this.#scratch.subarray(0, end).toString("latin1"), this.origin);
		const bodyStart = end + 4;
		if (head.status >= 100 && head.status < 200) {
			// 100 Continue and the like: drop it, the real head follows.
			this.#scratch.copyWithin(0, bodyStart, this.#fill);
			this.#fill -= bodyStart;
			return this.#scanHead(0);
		}
		const connection = (head.headers.get("connection") ?? "").toLowerCase();
		this.#keepAlive = head.version === "1.1" ? !connection.includes("close") : connection.includes("keep-alive");
		const te = (head.headers.get("transfer-encoding") ?? "").toLowerCase();
		if (this.#method === "HEAD" || head.status === 204 || head.status === 304) this.#mode = "none";
		else if (te !== "" && te !== "identity") {
			if (!/(^|,)\s*chunked\s*$/.test(te)) throw new Error(`${this.origin} sent Transfer-Encoding ${te}, which this client does not decode`);
			this.#mode = "chunked";
			this.#chunk = "size";
			this.#line = "";
		} else if (head.contentLength >= 0) {
			this.#mode = head.contentLength === 0 ? "none" : "length";
			this.#remaining = head.contentLength;
		} else {
			this.#mode = "close";
			this.#keepAlive = false;
		}
		this.#state = "body";
		this.#pending = bodyStart;
		const h = this.#head;
		this.#head = null;
		h?.resolve({ status: head.status, headers: head.headers, contentLength: this.#mode === "chunked" ? -1 : head.contentLength });
		// Stop until readBody() gives the sink.
		return false;
	}

	/** Copies body bytes from scratch[from, to) into the sink (chunked decoding on the way). False: the body ended or failed. */
	#consumeScratch(from: number, to: number): boolean {
		let i = from;
		while (i < to && this.#state === "body") {
			if (this.#mode === "chunked" && this.#chunk !== "data") {
				i = this.#chunkFraming(i, to);
				continue;
			}
			const want = this.#mode === "close" ? to - i : Math.min(to - i, this.#remaining);
			const taken = this.#copyToSink(this.#scratch.subarray(i, i + want));
			i += want;
			if (this.#mode === "close") continue;
			this.#remaining -= taken;
			if (this.#remaining === 0) {
				if (this.#mode === "length") this.#endBody();
				else this.#chunk = "data-end";
			}
		}
		if (this.#state === "body" && this.#mode === "length" && i < to) throw new Error(`${this.origin} sent more bytes than its Content-Length`);
		if (this.#state === "idle" && i < to) this.#fail(new Error(`${this.origin} sent bytes after the end of a response`));
		return this.#state === "body";
	}

	#copyToSink(bytes: Uint8Array): number {
		const sink = this.#sink as BodySink;
		let off = 0;
		while (off < bytes.byteLength) {
			const m = sink.memory();
			if (m.byteLength === 0) throw new Error("body sink gave no memory");
			const k = Math.min(m.byteLength, bytes.byteLength - off);
			m.set(bytes.subarray(off, off + k));
			off += k;
			// All of these bytes must go somewhere now: a pause only stops further reads.
			if (!sink.landed(k)) this.#paused = true;
		}
		return off;
	}

	/** Size lines, CRLF after data, trailers; returns the index after what it used. */
	#chunkFraming(i: number, to: number): number {
		const s = this.#scratch;
		while (i < to) {
			const c = s[i++];
			if (c !== 0x0a) {
				if (this.#line.length > 4096) throw new Error(`${this.origin} sent a malformed chunked body`);
				if (c !== 0x0d) this.#line += String.fromCharCode(c);
				continue;
			}
			const line = this.#line;
			this.#line = "";
			if (this.#chunk === "data-end") {
				if (line !== "") throw new Error(`${this.origin} sent a malformed chunked body`);
				this.#chunk = "size";
				continue;
			}
			if (this.#chunk === "trailer") {
				if (line === "") {
					this.#endBody();
					return i;
				}
				continue;
			}
			const size = Number.parseInt(line.split(";")[0].trim(), 16);
			if (!Number.isSafeInteger(size) || size < 0 || !/^[0-9a-fA-F]+/.test(line.trim()))
				throw new Error(`${this.origin} sent a malformed chunk size ${JSON.stringify(line.slice(0, 40))}`);
			if (size === 0) {
				this.#chunk = "trailer";
				continue;
			}
			this.#remaining = size;
			this.#chunk = "data";
			return i;
		}
		return i;
	}

	#endBody(): void {
		const b = this.#body;
		this.#body = null;
		this.#sink = null;
		this.#paused = false;
		if (this.#keepAlive) {
			this.#state = "idle";
			// Keep reading into scratch while idle: that is how a close by the server is noticed.
			this.#resumeSocket();
		} else {
			this.#state = "closed";
			this.#socket.destroy();
		}
		b?.resolve();
		// A response that ends the connection is a close too (#fail will not run: the state is closed).
		if (this.#state === "closed") for (const fn of this.#onClose.splice(0)) fn();
	}

	#onEnd(): void {
		if (this.#state === "body" && this.#mode === "close" && this.#sink) {
			this.#keepAlive = false;
			this.#endBody();
			return;
		}
		this.#fail(new Error(this.#state === "body" ? "the connection closed before the body ended" : "the connection closed"));
	}

	#fail(err: Error): void {
		if (this.#state === "closed") return;
		const wasIdle = this.#state === "idle";
		this.#state = "closed";
		this.#error = err;
		this.#socket.destroy();
		const h = this.#head;
		const b = this.#body;
		this.#head = null;
		this.#body = null;
		this.#sink = null;
		if (!wasIdle) {
			h?.reject(err);
			b?.reject(err);
		}
		for (const fn of this.#onClose.splice(0)) fn();
	}
}

function parseHead(text: string, origin: string): { version: string; status: number; headers: Map<string, string>; contentLength: number } {
	const lines = text.split("\r\n");
	const m = /^HTTP\/(1\.[01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? "");
	if (!m) throw new Error(`${origin} did not answer with HTTP/1.x (${JSON.stringify((lines[0] ?? "").slice(0, 60))})`);
	const headers = new Map<string, string>();
	for (const line of lines.slice(1)) {
		const colon = line.indexOf(":");
		if (colon <= 0) throw new Error(`${origin} sent a malformed header line ${JSON.stringify(line.slice(0, 60))}`);
		const name = line.slice(0, colon).trim().toLowerCase();
		const value = line.slice(colon + 1).trim();
		const had = headers.get(name);
		headers.set(name, had === undefined ? value : `${had}, ${value}`);
	}
	let contentLength = -1;
	const cl = headers.get("content-length");
	if (cl !== undefined) {
		// Repeated identical values ("5, 5") are allowed; differing ones are not.
		const values = new Set(cl.split(",").map((v) => v.trim()));
		const v = values.size === 1 ? [...values][0] : "";
		if (!/^\d{1,15}$/.test(v)) throw new Error(`${origin} sent an invalid Content-Length ${JSON.stringify(cl.slice(0, 40))}`);
		contentLength = Number(v);
	}
	return { version: m[1], status: Number(m[2]), headers, contentLength };
}

/** `Basic ...` for credentials in a proxy URL, or null. */
function proxyAuthorization(proxy: URL): string | null {
	if (proxy.username === "" && proxy.password === "") return null;
	return `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString("base64")}`;
}

/** An error of the proxy itself (a refused CONNECT), with its HTTP status. */
export class ProxyRefusedError extends Error {
	readonly status: number;
	readonly proxy: string;
	constructor(proxy: string, target: string, status: number) {
		super(`the proxy ${proxy} refused to pass requests to ${target} (HTTP ${status})`);
		this.name = "ProxyRefusedError";
		this.status = status;
		this.proxy = proxy;
	}
}

/** Opens a TCP connection to `proxy` and a CONNECT tunnel through it to `target` (host:port). */
function openTunnel(p: { proxy: URL; target: string; auth: string | null; signal?: AbortSignal }): Promise<Socket> {
	const proxyName = p.proxy.host;
	return new Promise((resolve, reject) => {
		const sock = netConnect({ host: p.proxy.hostname.replace(/^\[|\]$/g, ""), port: Number(p.proxy.port || 80), noDelay: true });
		let head = Buffer.alloc(0);
		let settled = false;
		const done = (err: Error | null): void => {
			if (settled) return;
			settled = true;
			sock.off("data", onData);
			p.signal?.removeEventListener("abort", onAbort);
			if (err) {
				sock.destroy();
				reject(err);
			} else resolve(sock);
		};
		const onAbort = (): void => done(HttpTimeoutError.orAbort(p.signal));
		const onData = (d: Buffer): void => {
			head = Buffer.concat([head, d]);
			const end = head.indexOf(CRLFCRLF);
			if (end < 0) {
				if (head.byteLength > SCRATCH) done(new Error(`the proxy ${proxyName} sent a response head over ${SCRATCH} bytes`));
				return;
			}
			const m = /^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString("latin1"));
			if (!m) {
				done(new Error(`the proxy ${proxyName} did not answer CONNECT with HTTP/1.x`));
				return;
			}
			const status = Number(m[1]);
			if (status < 200 || status >= 300) {
				done(new ProxyRefusedError(proxyName, p.target, status));
				return;
			}
			// The origin speaks only after our TLS hello: nothing may follow the head yet.
			if (head.byteLength > end + 4) {
				done(new Error(`the proxy ${proxyName} sent bytes after its CONNECT answer`));
				return;
			}
			done(null);
		};
		sock.on("data", onData);
		sock.once("error", (err) => done(err));
		sock.once("close", () => done(new Error(`the proxy ${proxyName} closed the connection before the tunnel was open`)));
		sock.once("connect", () => {
			sock.write(`CONNECT ${p.target} HTTP/1.1\r\nHost: ${p.target}\r\n${p.auth ? `Proxy-Authorization: ${p.auth}\r\n` : ""}\r\n`);
		});
		if (p.signal?.aborted) onAbort();
		else p.signal?.addEventListener("abort", onAbort, { once: true });
	});
}
