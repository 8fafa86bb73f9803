import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHubFetch } from "../../../src/ingest/hub/createHubFetch.js";
import { fetchIntoWriter } from "../../../src/ingest/hub/fetchIntoWriter.js";
import { createBlobWriter } from "../../../src/store/objects/createBlobWriter.js";
import { openStore } from "../../../src/store/openStore.js";
import type { Store } from "../../../src/store/Store.js";

const MiB = 1024 * 1024;
const SIZE = 5 * MiB + 3;
const data = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) data[i] = (i * 13 + (i >> 11)) & 255;
const blake3 = (b: Buffer): string => new Blake3Hasher().update(b).digest("hex");

let tmp: string;
let store: Store;
let server: Server;
let url: string;
let requests: Array<string | undefined>;

beforeEach(async () => {
	tmp = await mkdtemp(join(tmpdir(), "modelfs-fetchintowriter-"));
	store = await openStore({ storeDir: join(tmp, "store"), create: true });
	requests = [];
	// A server that ignores Range: every GET gets 200 and the whole file.
	server = createServer((req, res) => {
		requests.push(req.headers.range);
		res.writeHead(200, { "Content-Length": SIZE });
		res.end(data);
	});
	await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
	url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/f`;
});
afterEach(async () => {
	await store.close();
	server.closeAllConnections();
	await new Promise<void>((r) => server.close(() => r()));
	await rm(tmp, { recursive: true, force: true });
});

describe("fetchIntoWriter", () => {
	it.each([
		["one part", 64 * MiB],
		["1 MiB parts", MiB],
	])("stores the right bytes from a server that ignores Range (%s)", async (_name, partSize) => {
		const hubFetch = createHubFetch({ repo: { type: "model", name: "org/m" }, revision: "main", hubUrl: url, tokenGiven: false });
		const writer = await createBlobWriter({ store, size: SIZE });
		try {
			await fetchIntoWriter({ url, writer, size: SIZE, hubFetch, what: "org/m:f", partSize, parts: 4, retry: { attempts: 1, baseDelayMs: 1 } });
			const blob = await writer.commit({ size: SIZE });
			expect(blob.blake3).toBe(blake3(data));
		} catch (err) {
			await writer.abort();
			throw err;
		} finally {
			hubFetch.close();
		}
		// Every part asked for its own range; the server sent the whole file each time.
		expect(requests).toHaveLength(partSize >= SIZE ? 1 : Math.ceil(SIZE / partSize));
		expect(requests.every((r) => r?.startsWith("bytes="))).toBe(true);
	});
});
