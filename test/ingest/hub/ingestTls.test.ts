import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readCatalog } from "../../../src/store/catalog/readCatalog.js";
import { blobPath } from "../../../src/store/objects/blobPath.js";
import type { FixtureModel, RunningHubEmulator } from "../../support/hub-emulator/index.js";
import { addFixtureModel, startHubEmulator } from "../../support/hub-emulator/index.js";
import { repoRoot, runCli } from "../../support/runCli.js";
import { type RunningTlsTerminator, startTlsTerminator } from "../../support/tlsTerminator.js";

const MiB = 1024 * 1024;

let emu: RunningHubEmulator;
let tls: RunningTlsTerminator;
let model: FixtureModel;
let tmp: string;
let storeDir: string;

beforeEach(async () => {
	tmp = await mkdtemp(join(tmpdir(), "modelfs-ingest-tls-"));
	storeDir = join(tmp, "store");
	emu = await startHubEmulator();
	model = await addFixtureModel({ hub: emu.hub });
	tls = await startTlsTerminator({ targetPort: emu.port });
});
afterEach(async () => {
	await tls.close();
	await emu.close();
	await rm(tmp, { recursive: true, force: true });
});

function ingest(args: string[], env: NodeJS.ProcessEnv = {}) {
	return runCli(["ingest", ...args, "--store", storeDir], {
		env: { HF_ENDPOINT: tls.url, NODE_EXTRA_CA_CERTS: tls.certPath, HF_TOKEN: "", MODELFS_HUB_RETRY_BASE_MS: "10", ...env },
		timeoutMs: 60_000,
	});
}

/** Asserts every file of the snapshot is in the store with the emulator's bytes; returns how many. */
async function expectSnapshotInStore(repo: string, commit: string): Promise<number> {
	const cat = await readCatalog({ storeDir });
	const snap = cat?.repos.find((r) => r.name === repo)?.snapshots.find((s) => s.commit === commit);
	expect(snap, `${repo}@${commit} in the catalog`).toBeTruthy();
	for (const f of snap!.files) {
		const want = await emu.hub.content({ repo, path: f.path });
		const got = await readFile(blobPath(storeDir, f.blake3));
		expect(got.equals(want), f.path).toBe(true);
	}
	return snap!.files.length;
}

describe("ingestCommand over https", () => {
	it("ingests a model from an https endpoint (TLS terminator in front of the emulator), byte-equal", async () => {
		const r = await ingest([model.name, "--json"]);
		expect(r.stderr).not.toContain("hint:");
		expect(r.code).toBe(0);
		expect(JSON.parse(r.stdout)).toMatchObject({ repo: model.name, commit: model.commits[1], files: 10, downloadedFiles: 10 });
		expect(await expectSnapshotInStore(model.name, model.commits[1])).toBe(10);
		expect(tls.connections).toBeGreaterThan(0);
	});

	it("receives large files as ranged parts over kept-alive TLS connections, byte-equal", async () => {
		// Parts of 1 MiB: many requests, each response head followed at once by
		// more body than one TLS record holds (what exposed lost bytes before).
		const files = Object.fromEntries([1, 2].map((i) => [`model-0000${i}-of-00002.safetensors`, { generate: { seed: `tls-${i}`, size: 6 * MiB + 1000 * i + 1 } }]));
		const commit = await emu.hub.commit({ repo: "org/tls-sharded", files });
		const r = await ingest(["org/tls-sharded", "--json", "--concurrency", "2"], { MODELFS_HUB_PART_SIZE: String(MiB), MODELFS_HUB_IDLE_TIMEOUT_MS: "20000" });
		expect(r.stderr).not.toMatch(/retrying|hint:/);
		expect(r.code).toBe(0);
		expect(JSON.parse(r.stdout)).toMatchObject({ commit, downloadedFiles: 2 });
		expect(await expectSnapshotInStore("org/tls-sharded", commit)).toBe(2);
		const resolves = emu.hub.requests.filter((q) => q.route === "resolve");
		expect(resolves.length).toBe(14);
		expect(resolves.every((q) => q.status === 206 || q.status === 200)).toBe(true);
		// Keep-alive: far fewer TLS handshakes than ranged requests.
		expect(tls.connections).toBeLessThan(resolves.length);
	});

	it("resumes a file whose TLS connection was cut mid-body, byte-equal", async () => {
		const path = "model-00001-of-00001.safetensors";
		const commit = await emu.hub.commit({ repo: "org/tls-drop", files: { [path]: { generate: { seed: "tls-drop", size: 3 * MiB + 5 } } } });
		emu.hub.setFault({ kind: "drop", match: path, route: "resolve", times: 1, afterBytes: 1_000_000 });
		const r = await ingest(["org/tls-drop", "--json"]);
		expect(r.code).toBe(0);
		expect(r.stderr).toMatch(/retrying/);
		expect(await expectSnapshotInStore("org/tls-drop", commit)).toBe(1);
		const ranges = emu.hub.requests.filter((q) => q.route === "resolve").map((q) => q.range);
		expect(ranges.length).toBe(2);
		// The retry asked only for the bytes after those that arrived before the cut.
		const from = Number(/^bytes=(\d+)-/.exec(ranges[1] ?? "")?.[1]);
		expect(from).toBeGreaterThan(0);
		expect(from).toBeLessThanOrEqual(1_000_000);
	});

	it("fails at once (exit 3) when the endpoint's certificate is not trusted, and names NODE_EXTRA_CA_CERTS", async () => {
		// A long backoff: a retried certificate error would take minutes.
		const r = await ingest([model.name], { NODE_EXTRA_CA_CERTS: "", MODELFS_HUB_RETRY_BASE_MS: "60000" });
		expect(r.code).toBe(3);
		expect(r.stderr).toMatch(/certificate of 127\.0\.0\.1:\d+ was not accepted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
		expect(r.stderr).toMatch(/NODE_EXTRA_CA_CERTS/);
		expect(r.stderr).not.toMatch(/retrying/);
		expect(await readCatalog({ storeDir })).toBeNull();
	});
});

/**
 * A client in a child process, since NODE_EXTRA_CA_CERTS is read at start:
 * three GETs on one HttpConnection, each body read only after the whole
 * response has arrived and been decrypted; prints status, length and sha256 of each.
 */
const CLIENT = `
import { createHash } from "node:crypto";
import { HttpConnection } from ${JSON.stringify(join(repoRoot, "src/ingest/http/HttpConnection.js"))};
const [url, size] = [new URL(process.argv[2]), Number(process.argv[3])];
const c = await HttpConnection.open(url);
for (let i = 0; i < 3; i++) {
	const head = await c.request({ method: "GET", target: "/", headers: {} });
	await new Promise((r) => setTimeout(r, 100));
	const got = Buffer.alloc(size + 1);
	let n = 0;
	await c.readBody({ memory: () => got.subarray(n, n + 65536), landed: (k) => ((n += k), true) });
	console.log(JSON.stringify({ status: head.status, n, sha256: createHash("sha256").update(got.subarray(0, n)).digest("hex") }));
}
c.destroy();
`;

describe("HttpConnection over TLS", () => {
	it("keeps every body byte that arrives, decrypted, before readBody, and parses the next head", async () => {
		const size = 1 * MiB + 7;
		const body = Buffer.alloc(size);
		for (let i = 0; i < size; i++) body[i] = (i * 31 + (i >> 11)) & 255;
		// Head and body in one write: the client decrypts several TLS records at
		// once, the first holding the head and the rest body bytes for which no
		// sink has been given yet.
		const sockets = new Set<Socket>();
		const raw = createServer((sock) => {
			sockets.add(sock);
			sock.on("close", () => sockets.delete(sock));
			sock.on("data", () => sock.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`), body])));
		});
		await new Promise<void>((r) => raw.listen(0, "127.0.0.1", () => r()));
		const front = await startTlsTerminator({ targetPort: (raw.address() as AddressInfo).port });
		try {
			const script = join(tmp, "client.mts");
			await writeFile(script, CLIENT);
			const out = await new Promise<string>((resolve, reject) => {
				execFile(
					process.execPath,
					["--import", "tsx", script, front.url, String(size)],
					{ cwd: repoRoot, env: { ...process.env, NODE_EXTRA_CA_CERTS: front.certPath }, timeout: 20_000 },
					(err, stdout, stderr) => (err ? reject(new Error(`client failed: ${err.message}\n${stderr}\n${stdout}`)) : resolve(stdout)),
				);
			});
			const want = createHash("sha256").update(body).digest("hex");
			const lines = out
				.trim()
				.split("\n")
				.map((l) => JSON.parse(l));
			expect(lines).toEqual([0, 1, 2].map(() => ({ status: 200, n: size, sha256: want })));
			expect(front.connections).toBe(1);
		} finally {
			await front.close();
			for (const s of sockets) s.destroy();
			await new Promise<void>((r) => raw.close(() => r()));
		}
	});
});
