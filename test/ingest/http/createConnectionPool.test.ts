import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type ConnectionPool, createConnectionPool } from "../../../src/ingest/http/createConnectionPool.js";
import type { HttpConnection } from "../../../src/ingest/http/HttpConnection.js";
import { type RawHttpServer as RawServer, type SeenRequest, startRawHttpServer } from "../../support/startRawHttpServer.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const servers: RawServer[] = [];
const pools: ConnectionPool[] = [];
const conns: HttpConnection[] = [];
afterEach(async () => {
	for (const p of pools.splice(0)) p.close();
	for (const c of conns.splice(0)) c.destroy();
	for (const s of servers.splice(0)) await s.close();
});

/** startRawHttpServer, closed after each test. */
async function rawServer(answer: (sock: Socket, req: SeenRequest) => unknown): Promise<RawServer> {
	const srv = await startRawHttpServer(answer, { path: "/file" });
	servers.push(srv);
	return srv;
}

const ok = (sock: Socket, body = "ok"): void => {
	sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
};

function newPool(params?: Parameters<typeof createConnectionPool>[0]): ConnectionPool {
	const p = createConnectionPool(params);
	pools.push(p);
	return p;
}

const get = { method: "GET" as const, target: "/file", headers: {} };

/** One request through the pool, body read as text, connection given back. */
async function fetchText(pool: ConnectionPool, url: URL, signal?: AbortSignal): Promise<{ conn: HttpConnection; text: string }> {
	const { conn } = await pool.request(url, get, signal);
	conns.push(conn);
	const text = await conn.readText();
	pool.release(conn);
	return { conn, text };
}

async function until(cond: () => boolean, what: string): Promise<void> {
	for (let i = 0; !cond(); i++) {
		if (i > 1000) throw new Error(`gave up waiting: ${what}`);
		await sleep(5);
	}
}

/** Fails instead of hanging the test for 2 minutes when `p` never settles. */
function settlesSoon<T>(p: Promise<T>): Promise<T> {
	return Promise.race([p, sleep(5000).then(() => Promise.reject(new Error("did not settle within 5 s")))]);
}

describe("createConnectionPool", () => {
	it("reuses an idle connection: two sequential requests, one TCP connection", async () => {
		const srv = await rawServer((sock, req) => ok(sock, `r${req.index}`));
		const pool = newPool();
		const a = await fetchText(pool, srv.url);
		const b = await fetchText(pool, srv.url);
		expect([a.text, b.text]).toEqual(["r0", "r1"]);
		expect(b.conn).toBe(a.conn);
		expect(b.conn.requests).toBe(2);
		expect(srv.connections).toBe(1);
	});

	it("keeps origins apart", async () => {
		const one = await rawServer((sock) => ok(sock, "one"));
		const two = await rawServer((sock) => ok(sock, "two"));
		const pool = newPool();
		expect((await fetchText(pool, one.url)).text).toBe("one");
		expect((await fetchText(pool, two.url)).text).toBe("two");
		expect((await fetchText(pool, one.url)).text).toBe("one");
		expect([one.connections, two.connections]).toEqual([1, 1]);
	});

	it("opens a new connection when the server closed the idle one", async () => {
		const srv = await rawServer((sock) => {
			ok(sock);
			// A server with a short keep-alive timeout.
			setTimeout(() => sock.end(), 10);
		});
		const pool = newPool();
		const a = await fetchText(pool, srv.url);
		await until(() => srv.closed.has(0) && !a.conn.idle, "the client to see the close");
		const b = await fetchText(pool, srv.url);
		expect(b.text).toBe("ok");
		expect(b.conn).not.toBe(a.conn);
		expect(srv.connections).toBe(2);
	});

	it("retries once on a new connection when a reused one fails before any response byte", async () => {
		// The race of a keep-alive timeout: the server drops the connection just as the request comes.
		const srv = await rawServer((sock, req) => {
			if (req.index === 0) ok(sock, "first");
			else sock.destroy();
		});
		const pool = newPool();
		const a = await fetchText(pool, srv.url);
		const b = await fetchText(pool, srv.url);
		expect(b.text).toBe("first");
		expect(b.conn).not.toBe(a.conn);
		expect(srv.requests.map((r) => [r.connection, r.index])).toEqual([
			[0, 0],
			[0, 1],
			[1, 0],
		]);
	});

	it("does not retry a reused connection that failed after part of the response", async () => {
		const srv = await rawServer((sock, req) => {
			if (req.index === 0) ok(sock);
			else {
				sock.write("HTTP/1.1 200 OK\r\nContent-Len");
				setTimeout(() => sock.destroy(), 10);
			}
		});
		const pool = newPool();
		await fetchText(pool, srv.url);
		await expect(pool.request(srv.url, get)).rejects.toThrow(/closed/);
		expect(srv.connections).toBe(1);
	});

	it("closes idle connections after idleMs", async () => {
		const srv = await rawServer((sock) => ok(sock));
		const pool = newPool({ idleMs: 30 });
		const a = await fetchText(pool, srv.url);
		expect(a.conn.idle).toBe(true);
		await until(() => srv.closed.has(0), "the idle connection to close");
		expect(a.conn.idle).toBe(false);
		const b = await fetchText(pool, srv.url);
		expect(b.conn).not.toBe(a.conn);
	});

	it("keeps at most maxIdlePerOrigin idle connections", async () => {
		const srv = await rawServer((sock) => ok(sock));
		const pool = newPool({ maxIdlePerOrigin: 1 });
		// Two requests in flight at once need two connections.
		const [x, y] = await Promise.all([pool.request(srv.url, get), pool.request(srv.url, get)]);
		conns.push(x.conn, y.conn);
		expect(x.conn).not.toBe(y.conn);
		await Promise.all([x.conn.readText(), y.conn.readText()]);
		pool.release(x.conn);
		pool.release(y.conn);
		expect(x.conn.idle).toBe(true);
		expect(y.conn.idle).toBe(false);
		await until(() => srv.closed.size === 1, "the second connection to close");
	});

	it("drops a connection given back with its body unread", async () => {
		const srv = await rawServer((sock) => ok(sock));
		const pool = newPool();
		const { conn } = await pool.request(srv.url, get);
		conns.push(conn);
		pool.release(conn);
		expect(conn.idle).toBe(false);
		expect((await fetchText(pool, srv.url)).conn).not.toBe(conn);
		expect(srv.connections).toBe(2);
	});

	it("close() closes the idle connections, and later releases close theirs", async () => {
		const srv = await rawServer((sock) => ok(sock));
		const pool = newPool({ idleMs: 60_000 });
		const [x, y] = await Promise.all([pool.request(srv.url, get), pool.request(srv.url, get)]);
		conns.push(x.conn, y.conn);
		await Promise.all([x.conn.readText(), y.conn.readText()]);
		pool.release(x.conn);
		expect(x.conn.idle).toBe(true);
		pool.close();
		expect(x.conn.idle).toBe(false);
		await until(() => srv.closed.size === 1, "the idle connection to close");
		// y was out of the pool when it closed: given back now, it is closed too.
		expect(y.conn.idle).toBe(true);
		pool.release(y.conn);
		expect(y.conn.idle).toBe(false);
		await until(() => srv.closed.size === 2, "the released connection to close");
	});

	it("rejects at once for a signal aborted before the request", async () => {
		const srv = await rawServer((sock) => ok(sock));
		const pool = newPool();
		const ac = new AbortController();
		ac.abort();
		await expect(settlesSoon(pool.request(srv.url, get, ac.signal))).rejects.toMatchObject({ name: "AbortError" });
		expect(srv.requests).toEqual([]);
	});

	it("rejects and destroys the connection when the signal aborts while waiting for the head", async () => {
		const srv = await rawServer(() => undefined);
		const pool = newPool();
		const ac = new AbortController();
		const p = pool.request(srv.url, get, ac.signal);
		await until(() => srv.requests.length === 1, "the request to arrive");
		ac.abort();
		await expect(settlesSoon(p)).rejects.toMatchObject({ name: "AbortError" });
		await until(() => srv.closed.has(0), "the connection to close");
	});

	it("does not retry a reused connection when the signal aborted it", async () => {
		const srv = await rawServer((sock, req) => {
			if (req.index === 0) ok(sock);
		});
		const pool = newPool();
		await fetchText(pool, srv.url);
		const ac = new AbortController();
		const p = pool.request(srv.url, get, ac.signal);
		await until(() => srv.requests.length === 2, "the second request to arrive");
		ac.abort();
		await expect(settlesSoon(p)).rejects.toMatchObject({ name: "AbortError" });
		await until(() => srv.closed.has(0), "the connection to close");
		expect(srv.connections).toBe(1);
	});
});
