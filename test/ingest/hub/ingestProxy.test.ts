import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HttpConnection, ProxyRefusedError } from "../../../src/ingest/http/HttpConnection.js";
import { readCatalog } from "../../../src/store/catalog/readCatalog.js";
import { blobPath } from "../../../src/store/objects/blobPath.js";
import type { RunningHubEmulator } from "../../support/hub-emulator/index.js";
import { startHubEmulator } from "../../support/hub-emulator/index.js";
import { runCli } from "../../support/runCli.js";
import { type RunningHttpProxy, startHttpProxy } from "../../support/startHttpProxy.js";
import { type RunningTlsTerminator, startTlsTerminator } from "../../support/tlsTerminator.js";

const MiB = 1024 * 1024;
const REPO = "org/proxied";
const BIG = "model.safetensors";

let emu: RunningHubEmulator;
let tls: RunningTlsTerminator;
let proxy: RunningHttpProxy;
let commit: string;
let tmp: string;
let storeDir: string;
const closers: Array<() => Promise<void>> = [];

/**
 * Every proxy variable the CLI (or undici) might read, unset: the child gets
 * only the ones a test gives it, never stray ones from the parent's env
 * (spawn drops keys whose value is undefined).
 */
const NO_PROXY_ENV: NodeJS.ProcessEnv = {
	http_proxy: undefined,
	HTTP_PROXY: undefined,
	https_proxy: undefined,
	HTTPS_PROXY: undefined,
	no_proxy: undefined,
	NO_PROXY: undefined,
	all_proxy: undefined,
	ALL_PROXY: undefined,
	NODE_USE_ENV_PROXY: undefined,
};

beforeEach(async () => {
	tmp = await mkdtemp(join(tmpdir(), "modelfs-ingest-proxy-"));
	storeDir = join(tmp, "store");
	emu = await startHubEmulator();
	// One file big enough to go as several ranged parts (MODELFS_HUB_PART_SIZE
	// below), one small one that goes in one request.
	commit = await emu.hub.commit({ repo: REPO, files: { [BIG]: { generate: { seed: "proxy", size: 6 * MiB + 123 } }, "config.json": '{"model_type":"proxied"}\n' } });
	tls = await startTlsTerminator({ targetPort: emu.port });
	proxy = await startHttpProxy();
});
afterEach(async () => {
	for (const close of closers.splice(0)) await close();
	await proxy.close();
	await tls.close();
	await emu.close();
	await rm(tmp, { recursive: true, force: true });
});

/** Runs `modelfs ingest REPO` against `endpoint` with exactly the proxy variables given. */
function ingest(endpoint: string, proxyEnv: NodeJS.ProcessEnv) {
	return runCli(["ingest", REPO, "--json", "--store", storeDir], {
		env: {
			...NO_PROXY_ENV,
			HF_ENDPOINT: endpoint,
			NODE_EXTRA_CA_CERTS: tls.certPath,
			HF_TOKEN: "",
			MODELFS_HUB_PART_SIZE: String(MiB),
			// A refused proxy must not be retried for minutes.
			MODELFS_HUB_RETRY_BASE_MS: "10",
			...proxyEnv,
		},
		timeoutMs: 60_000,
	});
}

/** Asserts both files of the commit are in the store with the emulator's bytes. */
async function expectIngested(): Promise<void> {
	const cat = await readCatalog({ storeDir });
	const snap = cat?.repos.find((r) => r.name === REPO)?.snapshots.find((s) => s.commit === commit);
	expect(snap?.files.map((f) => f.path).sort()).toEqual(["config.json", BIG]);
	for (const f of snap!.files) {
		const want = await emu.hub.content({ repo: REPO, path: f.path });
		expect((await readFile(blobPath(storeDir, f.blake3))).equals(want), f.path).toBe(true);
	}
}

function resolvesAtHub() {
	return emu.hub.requests.filter((q) => q.route === "resolve");
}

/** The proxy URL with `userinfo@` before its host. */
function withCredentials(url: string, userinfo: string): string {
	return url.replace("http://", `http://${userinfo}@`);
}

describe("ingestCommand through an HTTP proxy", () => {
	it("sends the API calls and the ranged downloads of an http endpoint to HTTP_PROXY in absolute form, byte-equal", async () => {
		const r = await ingest(emu.url, { HTTP_PROXY: proxy.url });
		expect(r.stderr).not.toMatch(/hint:|retrying/);
		expect(r.code).toBe(0);
		expect(JSON.parse(r.stdout)).toMatchObject({ commit, files: 2, downloadedFiles: 2 });
		await expectIngested();
		const hubOrigin = new URL(emu.url).origin;
		expect(
			proxy.requests.every((l) => l.includes(` ${hubOrigin}/`)),
			proxy.requests.join("\n"),
		).toBe(true);
		// Metadata (through our HTTP client, as the bytes) went through the proxy...
		expect(
			proxy.requests.some((l) => /^GET \S+\/api\/models\/org\/proxied\b/.test(l)),
			proxy.requests.join("\n"),
		).toBe(true);
		// ...and so did every download request, the big file as several ranged parts.
		const atHub = resolvesAtHub();
		const viaProxy = proxy.requests.filter((l) => l.includes("/resolve/"));
		expect(atHub.filter((q) => q.url.endsWith(`/${BIG}`) && q.range !== null).length).toBeGreaterThanOrEqual(6);
		expect(viaProxy.length).toBe(atHub.length);
		expect(viaProxy.filter((l) => l.includes(`/${BIG} `)).length).toBeGreaterThanOrEqual(6);
		expect(proxy.requests.length).toBe(emu.hub.requests.length);
		expect(proxy.connects).toEqual([]);
	});

	it("tunnels an https endpoint through HTTPS_PROXY with CONNECT, byte-equal", async () => {
		const r = await ingest(tls.url, { HTTPS_PROXY: proxy.url });
		expect(r.stderr).not.toMatch(/hint:|retrying/);
		expect(r.code).toBe(0);
		expect(JSON.parse(r.stdout)).toMatchObject({ commit, files: 2, downloadedFiles: 2 });
		await expectIngested();
		expect(proxy.connects.length).toBeGreaterThan(0);
		expect(new Set(proxy.connects)).toEqual(new Set([`127.0.0.1:${tls.port}`]));
		// Every TLS connection the endpoint saw came through the proxy.
		expect(tls.connections).toBe(proxy.connects.length);
		expect(proxy.requests).toEqual([]);
		expect(resolvesAtHub().filter((q) => q.range !== null).length).toBeGreaterThanOrEqual(6);
	});

	it("goes straight to a host listed in NO_PROXY", async () => {
		const r = await ingest(emu.url, { HTTP_PROXY: proxy.url, NO_PROXY: "127.0.0.1" });
		expect(r.code).toBe(0);
		await expectIngested();
		expect(proxy.requests).toEqual([]);
		expect(proxy.connects).toEqual([]);
	});

	it("fails (exit 3) naming the 407 when an https tunnel needs credentials, and works with them in the proxy URL", async () => {
		const authProxy = await startHttpProxy({ auth: { user: "ingest", pass: "s3cret@proxy" } });
		closers.push(() => authProxy.close());
		const denied = await ingest(tls.url, { HTTPS_PROXY: authProxy.url });
		expect(denied.code).toBe(3);
		expect(denied.stderr).toMatch(/407/);
		expect(denied.stderr).toMatch(/^hint: .*credentials/im);
		// A refusal is not retried, and is no crash.
		expect(denied.stderr).not.toMatch(/retrying/);
		expect(denied.stderr).not.toMatch(/^\s+at /m);
		expect(authProxy.refused).toBeGreaterThan(0);
		expect(await readCatalog({ storeDir })).toBeNull();

		// The password holds an '@', so it is percent-encoded in the URL.
		const refusedBefore = authProxy.refused;
		const ok = await ingest(tls.url, { HTTPS_PROXY: withCredentials(authProxy.url, "ingest:s3cret%40proxy") });
		expect(ok.stderr).not.toMatch(/hint:|retrying/);
		expect(ok.code).toBe(0);
		await expectIngested();
		expect(authProxy.refused).toBe(refusedBefore);
		expect(authProxy.connects.length).toBeGreaterThan(0);
		// The secret is never printed.
		expect(denied.stderr + ok.stderr + ok.stdout).not.toContain("s3cret");
	});

	it("fails (exit 3) naming the 407 when absolute-form requests need credentials, and works with them in the proxy URL", async () => {
		const authProxy = await startHttpProxy({ auth: { user: "ingest", pass: "pw" } });
		closers.push(() => authProxy.close());
		const denied = await ingest(emu.url, { HTTP_PROXY: authProxy.url });
		expect(denied.code).toBe(3);
		expect(denied.stderr).toMatch(/407/);
		expect(denied.stderr).toMatch(/^hint: .*credentials/im);
		expect(denied.stderr).not.toMatch(/retrying/);
		expect(authProxy.refused).toBeGreaterThan(0);
		expect(resolvesAtHub()).toEqual([]);

		const refusedBefore = authProxy.refused;
		const ok = await ingest(emu.url, { HTTP_PROXY: withCredentials(authProxy.url, "ingest:pw") });
		expect(ok.code).toBe(0);
		await expectIngested();
		// Every request (API and ranged downloads, on kept-alive connections) carried the credentials.
		expect(authProxy.refused).toBe(refusedBefore);
		expect(authProxy.requests.filter((l) => l.includes("/resolve/")).length).toBe(resolvesAtHub().length);
	});

	it("refuses an https:// proxy with a one-line error instead of a crash", async () => {
		const r = await ingest(tls.url, { HTTPS_PROXY: `https://127.0.0.1:${proxy.port}` });
		expect([2, 3]).toContain(r.code);
		// Either wording: "https proxies are not supported" or "https://...: only http:// proxies are supported".
		expect(r.stderr).toMatch(/^modelfs: .*(https:?(\/\/)? proxies are not supported|https:\/\/\S+.*only http:\/\/ proxies are supported)/im);
		expect(
			r.stderr
				.trim()
				.split("\n")
				.filter((l) => l.startsWith("modelfs:")),
		).toHaveLength(1);
		expect(r.stderr).not.toMatch(/^\s+at /m);
		expect(proxy.connects).toEqual([]);
		expect(proxy.requests).toEqual([]);
		expect(await readCatalog({ storeDir })).toBeNull();
	});
});

describe("HttpConnection through an HTTP proxy", () => {
	// In-process: the downloads' own proxy path, which the CLI tests above
	// reach only after the metadata calls (which fail first on a refusal).
	it("rejects with the proxy's status when a CONNECT is refused", async () => {
		const authProxy = await startHttpProxy({ auth: { user: "ingest", pass: "pw" } });
		closers.push(() => authProxy.close());
		const err = await HttpConnection.open(new URL(tls.url), undefined, new URL(authProxy.url)).then(
			(c) => (c.destroy(), null),
			(e: unknown) => e,
		);
		expect(err).toBeInstanceOf(ProxyRefusedError);
		expect((err as ProxyRefusedError).status).toBe(407);
		expect((err as Error).message).toMatch(/HTTP 407/);
		expect(authProxy.connects).toEqual([`127.0.0.1:${tls.port}`]);
		expect(authProxy.refused).toBe(1);
	});

	it("sends every request on a kept-alive connection in absolute form with the proxy credentials", async () => {
		const authProxy = await startHttpProxy({ auth: { user: "ingest", pass: "p@ss" } });
		closers.push(() => authProxy.close());
		const c = await HttpConnection.open(new URL(emu.url), undefined, new URL(authProxy.url.replace("http://", "http://ingest:p%40ss@")));
		try {
			const target = `/${REPO}/resolve/${commit}/config.json`;
			for (let i = 0; i < 3; i++) {
				const head = await c.request({ method: "GET", target, headers: {} });
				expect(head.status).toBe(200);
				expect(await c.readText()).toBe('{"model_type":"proxied"}\n');
			}
			expect(c.requests).toBe(3);
			expect(authProxy.refused).toBe(0);
			expect(authProxy.requests).toEqual([0, 1, 2].map(() => `GET ${new URL(emu.url).origin}${target} HTTP/1.1`));
		} finally {
			c.destroy();
		}
	});
});
