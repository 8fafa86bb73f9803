import type { Dirent } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readCatalog } from "../../src/store/catalog/readCatalog.js";
import { blobPath } from "../../src/store/objects/blobPath.js";
import { type CliResult, runCli } from "../support/runCli.js";
import { type HostileFault, type HostileFile, type HostileHub, type HostileRoute, startHostileHub } from "../support/startHostileHub.js";

/** The access token of every run: it must show up nowhere but in requests to the hub itself. */
const TOKEN = "hf_hostileHubSecret7391";
const REPO = "org/hostile";
/** Short enough that a hang fails fast, long enough for a loaded 2-core machine to answer a good request. */
const IDLE_MS = 1000;
const CONNECT_MS = 1000;
/** A test that hangs fails here rather than at the suite's 120 s. */
const TEST_MS = 45_000;

const CONFIG = Buffer.from('{"model_type":"hostile"}\n');
const WEIGHTS = Buffer.alloc(3000, 0x5a);
const GOOD: HostileFile[] = [
	{ path: "config.json", content: CONFIG },
	{ path: "model.bin", content: WEIGHTS },
];

let tmp: string;
let storeDir: string;
let runDir: string;
let hub: HostileHub | null = null;

beforeEach(async () => {
	tmp = await mkdtemp(join(tmpdir(), "modelfs-hostile-hub-"));
	storeDir = join(tmp, "store");
	runDir = join(tmp, "run");
});
afterEach(async () => {
	await hub?.close();
	hub = null;
	await rm(tmp, { recursive: true, force: true });
});

async function start(files: HostileFile[], fault?: HostileFault): Promise<HostileHub> {
	hub = await startHostileHub({ files, fault });
	return hub;
}

/** No proxy from the machine's environment may carry these requests. */
const NO_PROXY_ENV = {
	HTTPS_PROXY: undefined,
	HTTP_PROXY: undefined,
	https_proxy: undefined,
	http_proxy: undefined,
	NO_PROXY: undefined,
	no_proxy: undefined,
	NODE_USE_ENV_PROXY: undefined,
};

/**
 * Runs the real CLI against the hostile hub with short timeouts, then checks
 * that the token is in no output and no file under the store or the run folder.
 */
async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
	const r = await runCli([...args, "--store", storeDir], {
		env: {
			...NO_PROXY_ENV,
			HF_ENDPOINT: hub?.url,
			HF_TOKEN: TOKEN,
			MODELFS_RUN_DIR: runDir,
			MODELFS_HUB_RETRY_BASE_MS: "10",
			MODELFS_HUB_CONNECT_TIMEOUT_MS: String(CONNECT_MS),
			MODELFS_HUB_IDLE_TIMEOUT_MS: String(IDLE_MS),
			...env,
		},
		timeoutMs: TEST_MS - 5000,
	});
	expect(r.signal, `killed: it hung\n${r.stderr}`).toBeNull();
	expect(r.stdout).not.toContain(TOKEN);
	expect(r.stderr).not.toContain(TOKEN);
	for (const dir of [storeDir, runDir]) {
		for (const file of await filesUnder(dir)) expect((await readFile(file)).includes(TOKEN), file).toBe(false);
	}
	return r;
}

/** Runs with and without MODELFS_DEBUG=1 (stacks and causes printed), checking the token both times; returns the plain run. */
async function runBoth(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ plain: CliResult; debug: CliResult }> {
	const debug = await run(args, { ...env, MODELFS_DEBUG: "1" });
	const plain = await run(args, { ...env, MODELFS_DEBUG: "" });
	return { plain, debug };
}

async function filesUnder(dir: string): Promise<string[]> {
	const out: string[] = [];
	let entries: Dirent[];
	try {
		entries = await readdir(dir, { withFileTypes: true });
	} catch {
		return out;
	}
	for (const e of entries) {
		const p = join(dir, e.name);
		if (e.isDirectory()) out.push(...(await filesUnder(p)));
		else if (e.isFile()) out.push(p);
	}
	return out;
}

/** The `modelfs: ` lines of a run: the error is exactly one of them (with --quiet no retry notes come). */
function errorLines(r: CliResult): string[] {
	return r.stderr.split("\n").filter((l) => l.startsWith("modelfs: "));
}

function expectOneLine(r: CliResult, message: RegExp): void {
	expect(r.code, r.stderr).toBe(3);
	const lines = errorLines(r);
	expect(lines, r.stderr).toHaveLength(1);
	expect(lines[0]).toMatch(message);
}

function routeRequests(route: HostileRoute, server: "hub" | "other" = "hub") {
	return (hub as HostileHub).requests.filter((q) => q.route === route && q.server === server);
}

/** `n` requests of `route` at the hub; up to twice that for files (two are fetched at once). */
function expectTries(route: HostileRoute, n: number): void {
	const seen = routeRequests(route).length;
	expect(seen).toBeGreaterThanOrEqual(n);
	expect(seen).toBeLessThanOrEqual(route === "file" ? 2 * n : n);
}

/** The snapshot of the hostile repo's commit in the store's catalog, or null. */
async function snapshotOfRepo() {
	const cat = await readCatalog({ storeDir });
	return cat?.repos.find((r) => r.name === REPO)?.snapshots.find((s) => s.commit === hub?.commit) ?? null;
}

async function expectStored(files: HostileFile[]): Promise<void> {
	const snap = await snapshotOfRepo();
	expect(snap?.files.map((f) => f.path).sort()).toEqual(files.map((f) => f.path).sort());
	for (const f of snap?.files ?? []) {
		const want = files.find((x) => x.path === f.path)?.content as Buffer;
		expect((await readFile(blobPath(storeDir, f.blake3))).equals(want), f.path).toBe(true);
	}
}

describe("ingest against a hostile hub: file names", () => {
	it.each([
		["a name part over 255 bytes", `weights/${"x".repeat(256)}.json`, /has a name of 261 bytes, which no view can show/],
		["a .. part", "sub/../../escape.txt", /would escape the snapshot folder/],
		["a NUL", "bad\0name.json", /holds a NUL byte/],
		["an absolute path", "/etc/passwd", /is absolute/],
		["a file that is also a folder", "config.json/inner.txt", /lists config\.json both as a file and as a folder/],
	])(
		"refuses a repo listing %s before any download, and the store is unchanged",
		async (_what, bad, reason) => {
			await start([...GOOD, { path: bad, content: "x" }]);
			expect((await run(["init"])).code).toBe(0);
			const r = await run(["ingest", REPO, "--quiet"]);
			expectOneLine(r, reason);
			expect(errorLines(r)[0]).toMatch(/nothing was downloaded/);
			expect(routeRequests("file")).toHaveLength(0);
			const ls = await run(["ls", "--json"]);
			expect(ls.code, ls.stderr).toBe(0);
			expect(JSON.parse(ls.stdout)).toEqual([]);
			expect(await filesUnder(join(storeDir, "objects"))).toEqual([]);
			expect(await filesUnder(join(storeDir, "tmp"))).toEqual([]);
		},
		TEST_MS,
	);
});

describe("ingest against a hostile hub: timeouts", () => {
	it.each([["info"], ["tree"], ["file"]] as Array<[HostileRoute]>)(
		"cuts a connection accepted but never answered (%s), retries it, then fails naming the host and the idle timeout",
		async (route) => {
			await start(GOOD, { kind: "silent", route });
			const started = Date.now();
			const { plain } = await runBoth(["ingest", REPO, "--quiet"]);
			expectOneLine(plain, new RegExp(`^modelfs: no bytes from 127\\.0\\.0\\.1:\\d+ for ${IDLE_MS / 1000} s \\(idle timeout\\) fetching `));
			// Six tries a run (two runs), each cut after the idle timeout; two
			// files in flight may both be tried before the first failure stops the run.
			expectTries(route, 12);
			expect(Date.now() - started).toBeLessThan(TEST_MS - 5000);
		},
		TEST_MS,
	);

	it.each([
		["info", 10],
		["tree", 10],
		["file", 0],
	] as Array<[HostileRoute, number]>)(
		"cuts a body that stalls after its headers (%s), retries it, then fails naming the host and the idle timeout",
		async (route, bytes) => {
			await start(GOOD, { kind: "stall", route, bytes });
			const { plain } = await runBoth(["ingest", REPO, "--quiet"]);
			expectOneLine(plain, new RegExp(`^modelfs: no bytes from 127\\.0\\.0\\.1:\\d+ for ${IDLE_MS / 1000} s \\(idle timeout\\) fetching `));
			expectTries(route, 12);
		},
		TEST_MS,
	);

	it(
		"gives up on a connection that never gets up (a TLS handshake never answered), naming the host and the connect timeout",
		async () => {
			await start(GOOD);
			const https = (hub as HostileHub).url.replace("http://", "https://");
			const r = await run(["ingest", REPO, "--quiet"], { HF_ENDPOINT: https, MODELFS_HUB_IDLE_TIMEOUT_MS: "20000", MODELFS_HUB_CONNECT_TIMEOUT_MS: "300" });
			expectOneLine(r, /^modelfs: could not connect to 127\.0\.0\.1:\d+ within 0\.3 s \(connect timeout\) fetching org\/hostile@main$/);
			expect(r.stderr).toMatch(/^hint: /m);
		},
		TEST_MS,
	);
});

describe("ingest against a hostile hub: redirects", () => {
	it.each([["info"], ["tree"], ["file"]] as Array<[HostileRoute]>)(
		"stops a redirect loop (%s) after 5 redirects with one line, without retrying it",
		async (route) => {
			await start(GOOD, { kind: "redirectLoop", route });
			const r = await run(["ingest", REPO, "--quiet"]);
			expectOneLine(r, /more than 5 redirects, the last from 127\.0\.0\.1:\d+ to 127\.0\.0\.1:\d+$/);
			expectTries(route, 6);
		},
		TEST_MS,
	);

	it.each([["info"], ["tree"], ["file"]] as Array<[HostileRoute]>)(
		"follows a redirect (%s) to another host without sending it the token",
		async (route) => {
			await start(GOOD, { kind: "redirectAway", route });
			const r = await run(["ingest", REPO, "--quiet"]);
			expect(r.code, r.stderr).toBe(0);
			await expectStored(GOOD);
			expect(routeRequests(route).every((q) => q.headers.get("authorization") === `Bearer ${TOKEN}`)).toBe(true);
			expect(routeRequests(route, "other").length).toBeGreaterThan(0);
			expect((hub as HostileHub).requests.filter((q) => q.server === "other" && q.headers.has("authorization"))).toEqual([]);
		},
		TEST_MS,
	);

	it(
		"reads a tree page that a Link header puts on another host without sending it the token",
		async () => {
			await start(GOOD, { kind: "linkAway" });
			const r = await run(["ingest", REPO, "--quiet"]);
			expect(r.code, r.stderr).toBe(0);
			await expectStored(GOOD);
			expect(routeRequests("tree", "other")).toHaveLength(1);
			expect(routeRequests("tree", "other")[0].headers.has("authorization")).toBe(false);
			expect(routeRequests("tree")[0].headers.get("authorization")).toBe(`Bearer ${TOKEN}`);
		},
		TEST_MS,
	);
});

describe("ingest against a hostile hub: sizes and bodies", () => {
	it(
		"fails with one line when the listing gives a larger size than the body has",
		async () => {
			await start([GOOD[0], { ...GOOD[1], listedSize: WEIGHTS.length + 100 }]);
			const r = await run(["ingest", REPO, "--quiet"]);
			expectOneLine(r, /^modelfs: org\/hostile@[0-9a-f]{40}:model\.bin: the hub lists 3100 bytes, but 127\.0\.0\.1:\d+ serves a file of 3000$/);
			expect(await snapshotOfRepo()).toBeNull();
		},
		TEST_MS,
	);

	it(
		"fails with one line when the listing gives a smaller size than the body has",
		async () => {
			await start([GOOD[0], { ...GOOD[1], listedSize: WEIGHTS.length - 100 }]);
			const r = await run(["ingest", REPO, "--quiet"]);
			expectOneLine(r, /^modelfs: org\/hostile@[0-9a-f]{40}:model\.bin: the hub lists 2900 bytes, but 127\.0\.0\.1:\d+ serves a file of 3000$/);
			expect(await snapshotOfRepo()).toBeNull();
		},
		TEST_MS,
	);

	it.each([["info"], ["tree"], ["file"]] as Array<[HostileRoute]>)(
		"keeps only the Content-Length bytes of a body (%s) followed by more, byte-equal",
		async (route) => {
			await start(GOOD, { kind: "bodyLength", route, extra: 500 });
			const r = await run(["ingest", REPO, "--quiet"]);
			expect(r.code, r.stderr).toBe(0);
			await expectStored(GOOD);
		},
		TEST_MS,
	);

	it.each([
		["info", /org\/hostile@main/],
		["tree", /the file list of org\/hostile@[0-9a-f]{40}/],
		["file", /org\/hostile@[0-9a-f]{40}:(config\.json|model\.bin)/],
	] as Array<[HostileRoute, RegExp]>)(
		"fails with one line, after retries, on a body (%s) shorter than its Content-Length",
		async (route, what) => {
			await start(GOOD, { kind: "bodyLength", route, extra: -10 });
			const r = await run(["ingest", REPO, "--quiet"]);
			expectOneLine(r, new RegExp(`^modelfs: network error fetching ${what.source} \\(the connection closed before the body ended\\)$`));
			expectTries(route, 6);
			expect(await snapshotOfRepo()).toBeNull();
		},
		TEST_MS,
	);
});

describe("ingest against a hostile hub: the access token", () => {
	it.each([
		["info", 403],
		["tree", 401],
		["file", 500],
	] as Array<[HostileRoute, number]>)(
		"never prints the token that an error body (%s, HTTP %i) echoes back, also with MODELFS_DEBUG=1",
		async (route, status) => {
			await start(GOOD, { kind: "echoAuth", route, status });
			const { plain, debug } = await runBoth(["ingest", REPO, "--quiet"]);
			expect(plain.code).toBe(3);
			expect(errorLines(plain)).toHaveLength(1);
			// The echo reached the output, redacted: the check above is not vacuous.
			expect(debug.stderr).toContain("Authorization: Bearer ***");
		},
		TEST_MS,
	);

	it(
		"reads the token from --token-file for ingest, and redacts it from an echo too",
		async () => {
			const file = join(tmp, "token");
			const fromFile = "hf_fromTheTokenFile42";
			await writeFile(file, `${fromFile}\n`, { mode: 0o600 });
			await start(GOOD);
			const ok = await run(["ingest", REPO, "--quiet", "--token-file", file], { HF_TOKEN: "" });
			expect(ok.code, ok.stderr).toBe(0);
			expect(routeRequests("info")[0].headers.get("authorization")).toBe(`Bearer ${fromFile}`);
			await hub?.close();
			await start(GOOD, { kind: "echoAuth", route: "info", status: 403 });
			const echoed = await run(["ingest", REPO, "--quiet", "--token-file", file], { HF_TOKEN: "", MODELFS_DEBUG: "1" });
			expect(echoed.code).toBe(3);
			expect(echoed.stderr).not.toContain(fromFile);
			expect(echoed.stderr).toContain("Authorization: Bearer ***");
		},
		TEST_MS,
	);

	it(
		"reads the token from --token-file for sync",
		async () => {
			const file = join(tmp, "token");
			await writeFile(file, TOKEN, { mode: 0o600 });
			const list = join(tmp, "models.yaml");
			await writeFile(list, `models: [${REPO}]\n`);
			await start(GOOD);
			const r = await run(["sync", "--from", list, "--quiet", "--token-file", file], { HF_TOKEN: "" });
			expect(r.code, r.stderr).toBe(0);
			await expectStored(GOOD);
			expect(routeRequests("info")[0].headers.get("authorization")).toBe(`Bearer ${TOKEN}`);
		},
		TEST_MS,
	);

	it(
		"refuses an unreadable --token-file (exit 2), naming the file, before any request",
		async () => {
			await start(GOOD);
			const missing = join(tmp, "no-such-token");
			const r = await run(["ingest", REPO, "--token-file", missing]);
			expect(r.code).toBe(2);
			expect(r.stderr).toContain(`cannot read the token file ${missing}`);
			expect((hub as HostileHub).requests).toHaveLength(0);
		},
		TEST_MS,
	);

	it(
		"refuses a timeout variable that is not a positive number (exit 2), naming it",
		async () => {
			await start(GOOD);
			const r = await run(["ingest", REPO], { MODELFS_HUB_IDLE_TIMEOUT_MS: "0" });
			expect(r.code).toBe(2);
			expect(r.stderr).toContain("MODELFS_HUB_IDLE_TIMEOUT_MS must be a positive number");
			expect((hub as HostileHub).requests).toHaveLength(0);
		},
		TEST_MS,
	);

	it(
		"documents --token-file, that --token shows in ps, and the timeout variables",
		async () => {
			const ingest = await runCli(["ingest", "--help"]);
			expect(ingest.stdout).toContain("--token-file <file>");
			expect(ingest.stdout.replace(/\s+/g, " ")).toContain("other users see it in `ps`");
			expect(ingest.stdout).toContain("MODELFS_HUB_CONNECT_TIMEOUT_MS");
			expect(ingest.stdout).toContain("MODELFS_HUB_IDLE_TIMEOUT_MS");
			const sync = await runCli(["sync", "--help"]);
			expect(sync.stdout).toContain("--token-file <file>");
		},
		TEST_MS,
	);
});
