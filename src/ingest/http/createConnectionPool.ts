import { HttpConnection, type HttpRequest, type HttpResponseHead } from "./HttpConnection.js";
import { HttpTimeoutError } from "./HttpTimeoutError.js";
import { proxyForUrl } from "./proxyForUrl.js";

export interface ConnectionPool {
	/**
	 * Sends a request on an idle connection to the URL's origin (or a new
	 * one) and resolves with the connection and the response head. A reused
	 * connection that the server had closed meanwhile is replaced once.
	 */
	request(url: URL, req: HttpRequest, signal?: AbortSignal): Promise<{ conn: HttpConnection; head: HttpResponseHead }>;
	/** Gives a connection back once its response body is read; one that closed is dropped. */
	release(conn: HttpConnection): void;
	/** Closes every idle connection. */
	close(): void;
}

export interface CreateConnectionPoolParams {
	/** Idle connections kept per origin. @default 16 */
	maxIdlePerOrigin?: number;
	/** The forward proxy for a URL, or null. @default proxyForUrl (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) */
	proxyFor?: (url: URL) => URL | null;
	/**
	 * An idle connection is closed after this long: under the keep-alive
	 * timeout of common servers (Node 5 s, nginx 75 s), so the client, not a
	 * race with the server, ends it. @default 4000
	 */
	idleMs?: number;
	/** A new connection not up within this long fails with HttpTimeoutError (phase `connect`). @default 10000 */
	connectTimeoutMs?: number;
}

/**
 * Keep-alive connections by origin for ranged downloads: the parts of a
 * large file are many requests to one CDN host, and over TLS a handshake per
 * part would cost round trips on every 16 MiB.
 */
export function createConnectionPool(params: CreateConnectionPoolParams = {}): ConnectionPool {
	const maxIdle = params.maxIdlePerOrigin ?? 16;
	const idleMs = params.idleMs ?? 4000;
	const connectTimeoutMs = params.connectTimeoutMs ?? 10_000;
	if (!(connectTimeoutMs > 0)) throw new TypeError("createConnectionPool: `connectTimeoutMs` must be a positive number");
	const proxyFor = params.proxyFor ?? ((url: URL) => proxyForUrl(url));
	const idle = new Map<string, Array<{ conn: HttpConnection; timer: NodeJS.Timeout }>>();
	const watched = new WeakSet<HttpConnection>();
	let closed = false;

	function take(origin: string): HttpConnection | null {
		const list = idle.get(origin);
		while (list && list.length > 0) {
			const { conn, timer } = list.pop() as { conn: HttpConnection; timer: NodeJS.Timeout };
			clearTimeout(timer);
			if (conn.idle) {
				conn.ref();
				return conn;
			}
		}
		return null;
	}

	async function request(url: URL, req: HttpRequest, signal?: AbortSignal): Promise<{ conn: HttpConnection; head: HttpResponseHead }> {
		const origin = `${url.protocol}//${url.host}`;
		const reused = take(origin);
		if (reused) {
			try {
				return { conn: reused, head: await withAbort(reused, reused.request(req), signal) };
			} catch (err) {
				// The server closed it while it sat idle: try once on a new connection.
				if (!reused.failedBeforeResponse || signal?.aborted) throw err;
			}
		}
		const conn = await HttpConnection.open(url, signal, proxyFor(url), connectTimeoutMs);
		return { conn, head: await withAbort(conn, conn.request(req), signal) };
	}

	function release(conn: HttpConnection): void {
		if (closed || !conn.idle) {
			conn.destroy();
			return;
		}
		const list = idle.get(conn.origin) ?? [];
		if (list.length >= maxIdle) {
			conn.destroy();
			return;
		}
		conn.unref();
		const entry = {
			conn,
			timer: setTimeout(() => {
				const i = list.indexOf(entry);
				if (i >= 0) list.splice(i, 1);
				conn.destroy();
			}, idleMs).unref(),
		};
		if (!watched.has(conn)) {
			watched.add(conn);
			// Once per connection: a close while idle drops it from its list.
			conn.onClose(() => {
				const l = idle.get(conn.origin) ?? [];
				const i = l.findIndex((e) => e.conn === conn);
				if (i < 0) return;
				clearTimeout(l[i].timer);
				l.splice(i, 1);
			});
		}
		list.push(entry);
		idle.set(conn.origin, list);
	}

	function close(): void {
		closed = true;
		for (const list of idle.values())
			for (const { conn, timer } of list.splice(0)) {
				clearTimeout(timer);
				conn.destroy();
			}
		idle.clear();
	}

	return { request, release, close };
}

/** Destroys the connection when `signal` aborts before `p` settles. */
async function withAbort<T>(conn: HttpConnection, p: Promise<T>, signal?: AbortSignal): Promise<T> {
	if (!signal) return p;
	// A timeout fails the request as itself, naming the host and the phase.
	const onAbort = (): void => conn.destroy(HttpTimeoutError.orAbort(signal));
	if (signal.aborted) onAbort();
	else signal.addEventListener("abort", onAbort, { once: true });
	try {
		return await p;
	} finally {
		signal.removeEventListener("abort", onAbort);
	}
}
