import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type BodySink, HttpConnection } from "../../../src/ingest/http/HttpConnection.js";
import { HttpTimeoutError } from "../../../src/ingest/http/HttpTimeoutError.js";
import { type RawHttpServer as RawServer, type SeenRequest, startRawHttpServer } from "../../support/startRawHttpServer.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const servers: RawServer[] = [];
const conns: HttpConnection[] = [];
afterEach(async () => {
	for (const c of conns.splice(0)) c.destroy();
	for (const s of servers.splice(0)) await s.close();
});

/** startRawHttpServer, closed after each test. */
async function rawServer(answer: (sock: Socket, req: SeenRequest) => unknown): Promise<RawServer> {
	const srv = await startRawHttpServer(answer);
	servers.push(srv);
	return srv;
}

async function open(srv: RawServer): Promise<HttpConnection> {
	const c = await HttpConnection.open(srv.url);
	conns.push(c);
	return c;
}

/** Writes `pieces` one by one with a pause between them, so they leave as separate TCP segments. */
async function trickle(sock: Socket, pieces: Array<string | Buffer>, pauseMs = 2): Promise<void> {
	for (const p of pieces) {
		if (sock.destroyed) return;
		sock.write(p);
		await sleep(pauseMs);
	}
}

function pattern(n: number, seed = 1): Buffer {
	const b = Buffer.allocUnsafe(n);
	let x = seed * 2654435761;
	for (let i = 0; i < n; i++) {
		x = (x * 1103515245 + 12345) >>> 0;
		b[i] = x >>> 24;
	}
	return b;
}

/** Counts the bytes copied into it with set(): HttpConnection copies only through set(). */
class CopyCounting extends Uint8Array {
	static copied = 0;
	override set(array: ArrayLike<number>, offset?: number): void {
		CopyCounting.copied += array.length;
		super.set(array, offset);
	}
}

/** A sink that gathers the body into one buffer, handing out `piece`-byte windows of it. */
function gather(capacity: number, piece = 64 * KiB): BodySink & { bytes: () => Buffer; landedCalls: number; memory: () => Uint8Array; backing: CopyCounting } {
	const backing = new CopyCounting(capacity);
	let used = 0;
	const sink = {
		backing,
		landedCalls: 0,
		memory: () => backing.subarray(used, Math.min(capacity, used + piece)),
		landed(n: number) {
			sink.landedCalls++;
			used += n;
			return true;
		},
		bytes: () => Buffer.from(backing.buffer, backing.byteOffset, used),
	};
	return sink;
}

const get = { method: "GET" as const, target: "/file", headers: {} };

describe("HttpConnection", () => {
	it("receives a Content-Length body straight into the sink's memory, copying at most the first read", async () => {
		const body = pattern(2 * MiB + 123);
		let sendBody: () => void = () => undefined;
		const bodyAllowed = new Promise<void>((r) => (sendBody = r));
		const srv = await rawServer(async (sock) => {
			sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
			await bodyAllowed;
			sock.write(body);
		});
		const c = await open(srv);
		const head = await c.request(get);
		expect(head).toMatchObject({ status: 200, contentLength: body.length });
		const sink = gather(body.length);
		CopyCounting.copied = 0;
		const done = c.readBody(sink);
		sendBody();
		await done;
		expect(sink.bytes().equals(body)).toBe(true);
		// The memory the sink gave is where the bytes are: the only copy is of
		// the read Node had already asked a buffer for before the sink came.
		expect(Buffer.from(sink.backing.buffer).equals(body)).toBe(true);
		expect(CopyCounting.copied).toBeLessThanOrEqual(16 * KiB);
		expect(c.idle).toBe(true);
	});

	it("parses a response head that arrives in tiny TCP writes", async () => {
		const head = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/100\r\nX-Repeated: a\r\nContent-Length: 10\r\nx-repeated: b\r\n\r\n";
		const srv = await rawServer(async (sock) => {
			const pieces: string[] = [];
			for (let i = 0; i < head.length; i += 3) pieces.push(head.slice(i, i + 3));
			await trickle(sock, [...pieces, "0123", "456789"], 1);
		});
		const c = await open(srv);
		const h = await c.request(get);
		expect(h.status).toBe(206);
		expect(h.contentLength).toBe(10);
		expect(h.headers.get("content-range")).toBe("bytes 0-9/100");
		expect(h.headers.get("x-repeated")).toBe("a, b");
		const sink = gather(100);
		await c.readBody(sink);
		expect(sink.bytes().toString()).toBe("0123456789");
	});

	it("keeps body bytes that came in the same packet as the head, small and larger than the head buffer", async () => {
		for (const size of [1000, 300 * KiB]) {
			const body = pattern(size, size);
			const srv = await rawServer((sock) => {
				sock.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`), body]));
			});
			const c = await open(srv);
			await c.request(get);
			// Let every byte reach the client before the sink is given.
			await sleep(50);
			const sink = gather(size);
			await c.readBody(sink);
			expect(sink.bytes().equals(body), `${size} bytes`).toBe(true);
			expect(c.idle).toBe(true);
		}
	});

	it("decodes a chunked body split at awkward places (size lines, CRLFs, extensions, trailers) and stays usable", async () => {
		const parts = [pattern(26, 1), Buffer.from("abc"), pattern(0x10000, 2), pattern(1, 3)];
		const framing: Array<string | Buffer> = [
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
			"1a;name=value;other\r\n",
			parts[0],
			"\r\n",
			"3\r\n",
			parts[1],
			"\r\n",
			"10000\r\n",
			parts[2],
			"\r\n",
			"1 ; ext\r\n",
			parts[3],
			"\r\n",
			"0\r\nX-Trailer: yes\r\nX-Other: 1\r\n\r\n",
		];
		const wire = Buffer.concat(framing.map((f) => Buffer.from(f)));
		// Cut within 3 bytes of every framing boundary, and every 10000 bytes.
		const cuts = new Set<number>();
		let at = 0;
		for (const f of framing) {
			for (let d = -3; d <= 3; d++) cuts.add(at + d);
			at += Buffer.byteLength(f);
		}
		for (let i = 0; i < wire.length; i += 10_000) cuts.add(i);
		const sorted = [...cuts].filter((x) => x > 0 && x < wire.length).sort((a, b) => a - b);
		const pieces: Buffer[] = [];
		let prev = 0;
		for (const cut of [...sorted, wire.length]) {
			pieces.push(wire.subarray(prev, cut));
			prev = cut;
		}
		const srv = await rawServer(async (sock, req) => {
			if (req.index === 0) await trickle(sock, pieces, 1);
			else sock.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext");
		});
		const c = await open(srv);
		const h = await c.request(get);
		expect(h.contentLength).toBe(-1);
		const sink = gather(0x20000, 1000);
		await c.readBody(sink);
		expect(sink.bytes().equals(Buffer.concat(parts))).toBe(true);
		// The trailer was read to its end: the next response parses.
		expect(c.idle).toBe(true);
		await c.request(get);
		const next = gather(10);
		await c.readBody(next);
		expect(next.bytes().toString()).toBe("next");
		expect(srv.connections).toBe(1);
	});

	it("rejects a malformed chunk size instead of guessing", async () => {
		const srv = await rawServer((sock) => sock.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"));
		const c = await open(srv);
		await c.request(get);
		await expect(c.readBody(gather(100))).rejects.toThrow(/malformed chunk size/);
		expect(c.idle).toBe(false);
	});

	it("reads a close-delimited body to the end and does not keep the connection", async () => {
		const body = pattern(500 * KiB, 9);
		const srv = await rawServer(async (sock) => {
			await trickle(sock, ["HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n", body.subarray(0, 1000), body.subarray(1000)]);
			sock.end();
		});
		const c = await open(srv);
		const h = await c.request(get);
		expect(h.contentLength).toBe(-1);
		const sink = gather(body.length);
		await c.readBody(sink);
		expect(sink.bytes().equals(body)).toBe(true);
		expect(c.idle).toBe(false);
	});

	it("reads no body for 204 and for HEAD (even with a Content-Length) and stays usable", async () => {
		const srv = await rawServer((sock, req) => {
			if (req.index === 0) sock.write("HTTP/1.1 204 No Content\r\n\r\n");
			else if (req.index === 1) sock.write("HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n");
			else sock.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
		});
		const c = await open(srv);
		expect((await c.request(get)).status).toBe(204);
		const none = gather(10);
		await c.readBody(none);
		expect(none.landedCalls).toBe(0);
		expect(c.idle).toBe(true);
		const h = await c.request({ method: "HEAD", target: "/file", headers: {} });
		expect(h.contentLength).toBe(12345);
		await c.readBody(none);
		expect(none.landedCalls).toBe(0);
		expect(srv.requests[1].text).toMatch(/^HEAD \/file HTTP\/1\.1\r\n/);
		// The client did not wait for 12345 bytes: the next response is read as a response.
		await c.request(get);
		const ok = gather(10);
		await c.readBody(ok);
		expect(ok.bytes().toString()).toBe("ok");
		expect(c.requests).toBe(3);
		expect(srv.connections).toBe(1);
	});

	it("skips a 100 Continue before the real head, in one packet or two", async () => {
		const srv = await rawServer(async (sock, req) => {
			const real = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
			if (req.index === 0) sock.write(`HTTP/1.1 100 Continue\r\n\r\n${real}`);
			else await trickle(sock, ["HTTP/1.1 100 Continue\r\n\r", "\n", real]);
		});
		const c = await open(srv);
		for (let i = 0; i < 2; i++) {
			const h = await c.request(get);
			expect(h.status).toBe(200);
			const sink = gather(10);
			await c.readBody(sink);
			expect(sink.bytes().toString()).toBe("hello");
		}
	});

	it("takes a response head of exactly 64 KiB and fails one a byte longer, whatever the reads", async () => {
		const headOf = (length: number): string => {
			const start = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX-Pad: ";
			return `${start}${"p".repeat(length - start.length - 4)}\r\n\r\n`;
		};
		for (const length of [64 * KiB, 64 * KiB + 1]) {
			const srv = await rawServer(async (sock, req) => {
				// The first response fills the window the next head is read into.
				if (req.index === 0) sock.write("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
				else await trickle(sock, [headOf(length).slice(0, 100), `${headOf(length).slice(100)}x`]);
			});
			const c = await open(srv);
			await c.request(get);
			expect(await c.readText()).toBe("x");
			if (length === 64 * KiB) {
				await c.request(get);
				expect(await c.readText()).toBe("x");
			} else await expect(c.request(get)).rejects.toThrow(/head over 65536 bytes/);
		}
	});

	it("fails a response head over 64 KiB", async () => {
		const srv = await rawServer((sock) => sock.write(`HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(70 * KiB)}\r\nContent-Length: 1\r\n\r\nx`));
		const c = await open(srv);
		await expect(c.request(get)).rejects.toThrow(/head over 65536 bytes/);
		expect(c.idle).toBe(false);
	});

	it("fails a body the server ends before its Content-Length, instead of waiting", async () => {
		const srv = await rawServer(async (sock) => {
			await trickle(sock, ["HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", pattern(5000)]);
			sock.end();
		});
		const c = await open(srv);
		await c.request(get);
		const sink = gather(100_000);
		await expect(c.readBody(sink)).rejects.toThrow(/closed before the body ended/);
		expect(sink.bytes().length).toBe(5000);
		expect(c.idle).toBe(false);
	});

	it("takes exactly Content-Length bytes when the server sends more, and drops the connection", async () => {
		for (const split of [false, true]) {
			const srv = await rawServer(async (sock) => {
				if (split) await trickle(sock, ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "hel", "loEXTRA BYTES"], 20);
				else sock.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA BYTES");
			});
			const c = await open(srv);
			const closed = new Promise<void>((r) => c.onClose(r));
			await c.request(get);
			const sink = gather(100);
			await c.readBody(sink);
			expect(sink.bytes().toString()).toBe("hello");
			// Bytes after the response: the connection cannot be trusted for another request.
			await closed;
			expect(c.idle).toBe(false);
			await expect(c.request(get)).rejects.toThrow();
		}
	});

	it("stops reading while the sink says so, and resume() continues to the exact end", async () => {
		const body = pattern(3 * MiB, 4);
		const srv = await rawServer((sock) => {
			// All of it at once: the server keeps sending as far as the socket buffers let it.
			sock.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
		});
		const c = await open(srv);
		await c.request(get);
		const backing = Buffer.alloc(body.length);
		let used = 0;
		let paused = false;
		let pauses = 0;
		let landedWhilePaused = 0;
		const done = c.readBody({
			memory: () => backing.subarray(used, used + 64 * KiB),
			landed(n) {
				if (paused) landedWhilePaused += n;
				used += n;
				// Pause after every 512 KiB.
				if (Math.floor(used / (512 * KiB)) > Math.floor((used - n) / (512 * KiB))) {
					paused = true;
					pauses++;
					return false;
				}
				return true;
			},
		});
		let finished = false;
		void done.then(() => (finished = true));
		while (!finished) {
			await sleep(10);
			if (!paused) continue;
			const at = used;
			// Long enough for megabytes to arrive if reading went on.
			await sleep(60);
			expect(used).toBe(at);
			paused = false;
			c.resume();
		}
		await done;
		expect(pauses).toBeGreaterThanOrEqual(5);
		expect(landedWhilePaused).toBe(0);
		expect(used).toBe(body.length);
		expect(backing.equals(body)).toBe(true);
		expect(c.idle).toBe(true);
	});

	it("stops a chunked body after the read that was being handed over when the sink paused", async () => {
		const data = pattern(1 * MiB, 5);
		const wire: Buffer[] = [Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")];
		for (let i = 0; i < data.length; i += 100_000) {
			const piece = data.subarray(i, i + 100_000);
			wire.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n"));
		}
		wire.push(Buffer.from("0\r\n\r\n"));
		const srv = await rawServer((sock) => sock.write(Buffer.concat(wire)));
		const c = await open(srv);
		await c.request(get);
		const sink = gather(data.length, 8 * KiB);
		let stop = true;
		const landed = sink.landed;
		sink.landed = (n) => {
			landed(n);
			if (stop && sink.bytes().length >= 200 * KiB) return false;
			return true;
		};
		const done = c.readBody(sink);
		while (sink.bytes().length < 200 * KiB) await sleep(5);
		// The rest of the socket read that was being decoded arrives synchronously; then nothing.
		await sleep(1);
		const at = sink.bytes().length;
		await sleep(60);
		expect(sink.bytes().length).toBe(at);
		expect(at).toBeLessThan(data.length);
		stop = false;
		c.resume();
		await done;
		expect(sink.bytes().equals(data)).toBe(true);
	});

	it("readText keeps at most `limit` bytes and reads the rest away", async () => {
		const text = "x".repeat(10_000);
		const srv = await rawServer(async (sock, req) => {
			if (req.index === 0) await trickle(sock, [`HTTP/1.1 404 Not Found\r\nContent-Length: ${text.length}\r\n\r\n`, text.slice(0, 3000), text.slice(3000)]);
			else if (req.index === 1) sock.write(`HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n`);
			else sock.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nend");
		});
		const c = await open(srv);
		expect((await c.request(get)).status).toBe(404);
		expect(await c.readText(100)).toBe("x".repeat(100));
		expect((await c.request(get)).status).toBe(500);
		expect(await c.readText(7)).toBe("abcdefg");
		await c.request(get);
		expect(await c.readText()).toBe("end");
		expect(srv.connections).toBe(1);
	});

	it("carries two requests on one keep-alive connection, sending Host and the headers given", async () => {
		const srv = await rawServer((sock, req) => sock.write(`HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n${req.index}`));
		const c = await open(srv);
		for (let i = 0; i < 2; i++) {
			await c.request({ method: "GET", target: `/f?x=${i}`, headers: { Range: "bytes=0-0" } });
			expect(await c.readText()).toBe(String(i));
		}
		expect(c.requests).toBe(2);
		expect(srv.connections).toBe(1);
		expect(srv.requests[1].text).toMatch(/^GET \/f\?x=1 HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\nRange: bytes=0-0\r\n\r\n$/);
	});

	it("is not idle after a `Connection: close` response, and closes its socket", async () => {
		const srv = await rawServer((sock) => sock.write("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"));
		const c = await open(srv);
		await c.request(get);
		expect(await c.readText()).toBe("hi");
		expect(c.idle).toBe(false);
		while (!srv.closed.has(0)) await sleep(5);
		await expect(c.request(get)).rejects.toThrow();
	});

	it("calls onClose once when a response ends the connection, as for any other close", async () => {
		const srv = await rawServer((sock, req) => {
			if (req.connection === 0) sock.write("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi");
			else {
				sock.write("HTTP/1.1 200 OK\r\n\r\nuntil close");
				sock.end();
			}
		});
		for (let i = 0; i < 2; i++) {
			const c = await open(srv);
			let calls = 0;
			c.onClose(() => calls++);
			await c.request(get);
			expect(await c.readText()).toMatch(/^(hi|until close)$/);
			await sleep(20);
			expect(calls, i === 0 ? "Connection: close" : "close-delimited").toBe(1);
			c.destroy();
			expect(calls).toBe(1);
			// Registered after the close: called at once.
			c.onClose(() => calls++);
			expect(calls).toBe(2);
		}
	});

	it("refuses a header value with a line break", async () => {
		const srv = await rawServer((sock) => sock.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
		const c = await open(srv);
		await expect(c.request({ method: "GET", target: "/", headers: { "X-A": "b\r\nX-Injected: 1" } })).rejects.toBeInstanceOf(TypeError);
	});

	it("fails readBody (a rejection, not a crash) when sink.landed throws, for bytes read later and bytes that came with the head", async () => {
		for (const withHead of [false, true]) {
			const srv = await rawServer(async (sock) => {
				if (withHead) sock.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
				else await trickle(sock, ["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "01234", "56789"], 30);
			});
			const c = await open(srv);
			await c.request(get);
			if (withHead) await sleep(30);
			const sink: BodySink = {
				memory: () => new Uint8Array(100),
				landed: () => {
					throw new Error("the sink failed");
				},
			};
			let body: Promise<void> | undefined;
			expect(() => (body = c.readBody(sink))).not.toThrow();
			await expect(body).rejects.toThrow("the sink failed");
			expect(c.idle).toBe(false);
			// Destroying it afterwards rejects nothing more (no unhandled rejection).
			c.destroy();
		}
	});

	it("reads a seeded random mix of responses, split and paused at random, on one keep-alive connection", async () => {
		const prng = (seed: number): ((n: number) => number) => {
			let x = seed * 7919;
			return (n) => {
				x = (x * 1103515245 + 12345) >>> 0;
				return Math.floor((x / 2 ** 32) * n);
			};
		};
		for (let seed = 1; seed <= 6; seed++) {
			// The server's splits and the client's sinks draw from their own sequences.
			const rand = prng(seed);
			const split = prng(seed + 1000);
			const responses = Array.from({ length: 10 }, () => {
				const size = [0, 1, 7, 1000, 70_000, 300_000][rand(6)];
				const body = pattern(size, rand(1000));
				const cont = rand(4) === 0 ? "HTTP/1.1 100 Continue\r\n\r\n" : "";
				const kind = rand(4);
				if (kind === 0) {
					const wire: Buffer[] = [Buffer.from(`${cont}HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n`)];
					for (let i = 0; i < size; ) {
						const n = Math.min(size - i, 1 + rand(50_000));
						wire.push(Buffer.from(`${n.toString(16)}${rand(3) === 0 ? ";x=y" : ""}\r\n`), body.subarray(i, i + n), Buffer.from("\r\n"));
						i += n;
					}
					wire.push(Buffer.from(`0\r\n${rand(2) ? "T: 1\r\n" : ""}\r\n`));
					return { wire: Buffer.concat(wire), body, method: "GET" as const };
				}
				if (kind === 1) return { wire: Buffer.from(`${cont}HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`), body: Buffer.alloc(0), method: "HEAD" as const };
				return { wire: Buffer.concat([Buffer.from(`${cont}HTTP/1.1 206 Partial Content\r\nContent-Length: ${size}\r\n\r\n`), body]), body, method: "GET" as const };
			});
			const srv = await rawServer(async (sock, req) => {
				const wire = responses[req.index].wire;
				const pieces: Buffer[] = [];
				for (let i = 0; i < wire.length; ) {
					const n = split(4) === 0 ? 1 + split(5) : 1 + split(100_000);
					pieces.push(wire.subarray(i, i + n));
					i += n;
				}
				await trickle(sock, pieces, split(2));
			});
			const c = await open(srv);
			for (const [i, r] of responses.entries()) {
				await c.request({ method: r.method, target: "/", headers: {} });
				if (rand(2)) await sleep(rand(5));
				const got = Buffer.alloc(r.body.length + 10);
				let n = 0;
				const piece = 1 + rand(70_000);
				await c.readBody({
					memory: () => got.subarray(n, n + piece),
					landed(k) {
						n += k;
						if (rand(8) !== 0) return true;
						setTimeout(() => c.resume(), rand(3));
						return false;
					},
				});
				expect(got.subarray(0, n).equals(r.body), `seed ${seed}, response ${i}`).toBe(true);
				expect(c.idle).toBe(true);
			}
			expect(srv.connections).toBe(1);
		}
	});

	it("rejects open() for an unsupported protocol and a refused port", async () => {
		await expect(HttpConnection.open(new URL("ftp://127.0.0.1/"))).rejects.toBeInstanceOf(TypeError);
		const srv = await rawServer(() => undefined);
		const port = srv.url.port;
		await srv.close();
		servers.splice(servers.indexOf(srv), 1);
		await expect(HttpConnection.open(new URL(`http://127.0.0.1:${port}/`))).rejects.toMatchObject({ code: "ECONNREFUSED" });
	});

	it("fails open() with a connect HttpTimeoutError naming the host when the connection is not up in time (a TLS handshake never answered)", async () => {
		const srv = await rawServer(() => undefined);
		const started = Date.now();
		const err = await HttpConnection.open(new URL(`https://127.0.0.1:${srv.url.port}/`), undefined, null, 200).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(HttpTimeoutError);
		expect(err).toMatchObject({ phase: "connect", host: `127.0.0.1:${srv.url.port}`, ms: 200, message: `could not connect to 127.0.0.1:${srv.url.port} within 0.2 s` });
		expect(Date.now() - started).toBeLessThan(5000);
		// The socket was dropped, not left half-open.
		await sleep(100);
		expect(srv.closed.has(0)).toBe(true);
	});

	it("lets an abort of the caller's own win over the connect timeout", async () => {
		const srv = await rawServer(() => undefined);
		const ac = new AbortController();
		const p = HttpConnection.open(new URL(`https://127.0.0.1:${srv.url.port}/`), ac.signal, null, 10_000);
		setTimeout(() => ac.abort(), 50);
		await expect(p).rejects.toMatchObject({ name: "AbortError" });
	});
});
