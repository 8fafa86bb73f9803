import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HubError } from "../../../src/errors.js";
import { ingestRepo } from "../../../src/ingest/hub/ingestRepo.js";
import { readCatalog } from "../../../src/store/catalog/readCatalog.js";
import { blobPath } from "../../../src/store/objects/blobPath.js";
import type { RunningHubEmulator } from "../../support/hub-emulator/index.js";
import { startHubEmulator } from "../../support/hub-emulator/index.js";
import { type RawHttpServer, startRawHttpServer } from "../../support/startRawHttpServer.js";

const MiB = 1024 * 1024;
const SIZE = 6 * MiB + 12345;
let emu: RunningHubEmulator;
let front: RawHttpServer;
let tmp: string;

beforeEach(async () => {
	tmp = await mkdtemp(join(tmpdir(), "modelfs-ingestrepo-"));
	emu = await startHubEmulator({});
	await emu.hub.commit({ repo: "org/parts", files: { "w.safetensors": { generate: { seed: "parts", size: SIZE } }, "config.json": "{}\n" } });
	// A hub that sends every request on to another origin (the emulator), as
	// the hub sends LFS files to its CDN.
	front = await startRawHttpServer((sock, req) => {
		const target = /^GET (\S+) HTTP\/1\.1\r\n/.exec(req.text)?.[1] ?? "/";
		sock.write(`HTTP/1.1 302 Found\r\nLocation: ${emu.url}${target}\r\nContent-Length: 0\r\n\r\n`);
	});
});
afterEach(async () => {
	await front.close();
	await emu.close();
	await rm(tmp, { recursive: true, force: true });
});

// Both ways the bytes come, over real HTTP through the same client: from the
// hub itself, and from the other origin the hub redirects them to.
describe.each([
	["straight from the hub", () => emu.url],
	["redirected to a CDN", () => front.url.origin],
])("ingestRepo (%s)", (_name, hubUrl) => {
	const common = () => ({
		repo: { type: "model" as const, name: "org/parts" },
		storeDir: join(tmp, "store"),
		hubUrl: hubUrl(),
		partSize: MiB,
		parts: 4,
		retry: { baseDelayMs: 5 },
	});

	it("fetches a large file as parallel ranges and appends them in order, even when the first part is slowest", async () => {
		// The first ranged request trickles; the parts after it finish first and wait in memory.
		emu.hub.setFault({ kind: "slow", match: "w.safetensors", bytesPerSecond: 4 * MiB, times: 1 });
		const s = await ingestRepo(common());
		expect(s.downloadedBytes).toBe(SIZE + 3);
		const ranges = emu.hub.requests.filter((r) => r.url.endsWith("/w.safetensors")).map((r) => r.range);
		expect(ranges).toEqual(expect.arrayContaining([`bytes=0-${MiB - 1}`, `bytes=${6 * MiB}-${SIZE - 1}`]));
		expect(ranges).toHaveLength(7);
		const cat = await readCatalog({ storeDir: join(tmp, "store") });
		const f = cat!.repos[0].snapshots[0].files.find((x) => x.path === "w.safetensors")!;
		expect((await readFile(blobPath(join(tmp, "store"), f.blake3))).equals(await emu.hub.content({ repo: "org/parts", path: "w.safetensors" }))).toBe(true);
	});

	it("continues a dropped part from its last byte", async () => {
		emu.hub.setFault({ kind: "drop", match: "w.safetensors", afterBytes: 1000, times: 1 });
		await ingestRepo(common());
		expect(emu.hub.bytesServed({ repo: "org/parts", path: "w.safetensors" })).toBe(SIZE);
	});

	it("cuts a request that receives nothing for too long and retries it", async () => {
		// 16 KiB at 1 KiB/s: the first piece would take 16 s.
		emu.hub.setFault({ kind: "slow", match: "w.safetensors", bytesPerSecond: 1024, times: 1 });
		const notes: string[] = [];
		await ingestRepo({ ...common(), idleTimeoutMs: 300, log: (l) => notes.push(l) });
		expect(notes.join("\n")).toMatch(/no bytes from 127\.0\.0\.1:\d+ for 0\.3 s \(idle timeout\) fetching org\/parts@[0-9a-f]{40}:w\.safetensors; retrying/);
	});

	it("reports a permanent failure of a part as a HubError with its code", async () => {
		emu.hub.setFault({ kind: "notFound", match: "w.safetensors" });
		const err = await ingestRepo(common()).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(HubError);
		expect((err as HubError).code).toBe("HUB_ENTRY_NOT_FOUND");
		expect((err as HubError).status).toBe(404);
	});

	it("turns a corrupt transfer into one more download from zero", async () => {
		emu.hub.setFault({ kind: "corrupt", match: "w.safetensors", times: 1 });
		const notes: string[] = [];
		const s = await ingestRepo({ ...common(), log: (l) => notes.push(l) });
		expect(notes.join("\n")).toMatch(/do not match the hub's digest/);
		expect(s.downloadedBytes).toBeGreaterThanOrEqual(2 * SIZE);
	});
});

describe("ingestRepo redirected to a CDN", () => {
	it("sends the token to the hub but not to the other origin the bytes are redirected to", async () => {
		const s = await ingestRepo({
			repo: { type: "model", name: "org/parts" },
			storeDir: join(tmp, "store"),
			hubUrl: front.url.origin,
			accessToken: "hf_cdntest",
			partSize: MiB,
			retry: { baseDelayMs: 5 },
		});
		expect(s.downloadedBytes).toBe(SIZE + 3);
		const resolves = front.requests.filter((r) => r.text.includes("/resolve/"));
		expect(resolves).toHaveLength(8);
		expect(resolves.every((r) => r.text.includes("\r\nAuthorization: Bearer hf_cdntest\r\n"))).toBe(true);
		const atCdn = emu.hub.requests.filter((r) => r.route === "resolve");
		expect(atCdn).toHaveLength(8);
		expect(atCdn.some((r) => r.authorized)).toBe(false);
	});
});
