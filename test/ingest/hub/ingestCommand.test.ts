import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readCatalog } from "../../../src/store/catalog/readCatalog.js";
import { blobPath } from "../../../src/store/objects/blobPath.js";
import { openStore } from "../../../src/store/openStore.js";
import type { Catalog } from "../../../src/store/StoreTypes.js";
import { startChild } from "../../store/childProcess.js";
import type { FixtureModel, RunningHubEmulator } from "../../support/hub-emulator/index.js";
import { addFixtureModel, startHubEmulator } from "../../support/hub-emulator/index.js";
import { runCli } from "../../support/runCli.js";

let emu: RunningHubEmulator;
let model: FixtureModel;
let storeDir: string;
let tmp: string;

beforeEach(async () => {
	tmp = await mkdtemp(join(tmpdir(), "modelfs-ingest-"));
	storeDir = join(tmp, "store");
	emu = await startHubEmulator({ treePageSize: 4 });
	model = await addFixtureModel({ hub: emu.hub });
});
afterEach(async () => {
	await emu.close();
	await rm(tmp, { recursive: true, force: true });
});

function ingest(args: string[], env: NodeJS.ProcessEnv = {}) {
	return runCli(["ingest", ...args, "--store", storeDir], {
		env: { HF_ENDPOINT: emu.url, HF_TOKEN: "", MODELFS_HUB_RETRY_BASE_MS: "10", ...env },
	});
}

async function catalog(): Promise<Catalog | null> {
	return readCatalog({ storeDir });
}

function snapshotOf(cat: Catalog | null, name: string, commit: string) {
	return cat?.repos.find((r) => r.name === name)?.snapshots.find((s) => s.commit === commit) ?? null;
}

function resolves(path?: string): number {
	return emu.hub.requests.filter((r) => r.route === "resolve" && (path === undefined || r.url.endsWith(`/${path}`))).length;
}

describe("ingestCommand", () => {
	it("ingests every file of main into the store, byte-equal, with the ref and a JSON summary", async () => {
		const r = await ingest([model.name, "--json"]);
		expect(r.stderr).not.toContain("hint:");
		expect(r.code).toBe(0);
		const s = JSON.parse(r.stdout);
		expect(s).toMatchObject({ repo: model.name, commit: model.commits[1], files: 10, downloadedFiles: 10, dedupedFiles: 0, refs: { main: model.commits[1] } });
		expect(s.downloadedBytes).toBe(s.totalBytes);
		const cat = await catalog();
		const repo = cat!.repos.find((x) => x.name === model.name)!;
		expect(repo.refs).toEqual({ main: model.commits[1] });
		const snap = snapshotOf(cat, model.name, model.commits[1])!;
		expect(snap.files.map((f) => f.path)).toContain("2_Dense/model.safetensors");
		for (const f of snap.files) {
			const want = await emu.hub.content({ repo: model.name, path: f.path });
			const got = await readFile(blobPath(storeDir, f.blake3));
			expect(got.equals(want), f.path).toBe(true);
			const file = emu.hub.file({ repo: model.name, path: f.path })!;
			expect(f.etag).toBe(file.lfs ? file.sha256 : file.contentSha1);
		}
	});

	it("downloads nothing when the model is already in the store, and says so", async () => {
		expect((await ingest([model.name])).code).toBe(0);
		emu.hub.resetCounters();
		const again = await ingest([model.name]);
		expect(again.code).toBe(0);
		expect(again.stdout).toMatch(/nothing downloaded: all 10 files were already in the store/);
		expect(resolves()).toBe(0);
		expect(emu.hub.totalBytesServed()).toBe(0);
	});

	it("leaves the index generation alone when a re-ingest changes nothing, and moves main when main moved", async () => {
		expect((await ingest([model.name])).code).toBe(0);
		const generation = (await catalog())!.generation;
		expect((await ingest([model.name])).code).toBe(0);
		expect((await catalog())!.generation).toBe(generation);
		const third = await emu.hub.commit({ repo: model.name, files: { "extra.txt": "new file\n" } });
		const r = await ingest([model.name, "--json"]);
		expect(JSON.parse(r.stdout)).toMatchObject({ commit: third, downloadedFiles: 1, dedupedFiles: 10 });
		const cat = await catalog();
		expect(cat!.generation).toBeGreaterThan(generation);
		expect(cat!.repos.find((x) => x.name === model.name)!.refs.main).toBe(third);
	});

	it("downloads only the files a second model does not share with the first", async () => {
		expect((await ingest([model.name])).code).toBe(0);
		// Same weights and tokenizer (same seed), different config and README.
		const second = await addFixtureModel({ hub: emu.hub, name: "other-org/tiny-finetune", variant: "finetune" });
		emu.hub.resetCounters();
		const r = await ingest([second.name, "--json"]);
		expect(r.code).toBe(0);
		const s = JSON.parse(r.stdout);
		const fetched = emu.hub.requests
			.filter((q) => q.route === "resolve")
			.map((q) => q.url.split(`/resolve/${second.commits[1]}/`)[1])
			.sort();
		expect(fetched).toEqual(["README.md", "config.json"]);
		expect(s.downloadedFiles).toBe(2);
		expect(s.dedupedFiles).toBe(8);
		expect(emu.hub.bytesServed({ repo: second.name, path: "model.safetensors" })).toBe(0);
		const snap = snapshotOf(await catalog(), second.name, second.commits[1]);
		expect(snap?.files).toHaveLength(10);
	});

	it("fetches several large files as parallel ranges without warnings, byte-equal", async () => {
		const files = Object.fromEntries([1, 2, 3, 4].map((i) => [`model-0000${i}-of-00004.safetensors`, { generate: { seed: `shard-${i}`, size: 5 * 1024 * 1024 + i } }]));
		await emu.hub.commit({ repo: "org/sharded", files });
		const r = await ingest(["org/sharded", "--json", "--concurrency", "4"], { MODELFS_HUB_PART_SIZE: String(1024 * 1024) });
		expect(r.stderr).not.toMatch(/Warning/);
		expect(r.code).toBe(0);
		expect(emu.hub.requests.filter((q) => q.route === "resolve").length).toBe(24);
		const snap = snapshotOf(await catalog(), "org/sharded", JSON.parse(r.stdout).commit)!;
		for (const f of snap.files) {
			expect((await readFile(blobPath(storeDir, f.blake3))).equals(await emu.hub.content({ repo: "org/sharded", path: f.path })), f.path).toBe(true);
		}
	});

	it("with --wait, waits for the writer lock and reports a speed from the download time alone", async () => {
		await (await openStore({ storeDir, create: true })).close();
		const holder = startChild(["hold", storeDir]);
		expect(await holder.line).toBe("locked");
		const run = ingest([model.name, "--wait", "--json"]);
		// Hold the lock until the second ingest has listed the files, and a while longer.
		while (!emu.hub.requests.some((q) => q.route === "tree")) await new Promise((r) => setTimeout(r, 20));
		await new Promise((r) => setTimeout(r, 3000));
		const released = Date.now();
		holder.child.stdin!.end();
		const r = await run;
		const ended = Date.now();
		expect(r.code).toBe(0);
		const s = JSON.parse(r.stdout);
		expect(s).toMatchObject({ downloadedFiles: 10, downloadedBytes: s.totalBytes });
		// The clock started once the lock was taken, after the holder let go:
		// what it counts fits in the time after the release (the 3 s wait is
		// not in it, however slow the machine).
		expect(s.seconds * 1000).toBeLessThanOrEqual(ended - released);
		expect(s.bytesPerSecond).toBe(s.downloadedBytes / s.seconds);
		await holder.exit;
	});

	it("ingests an older commit by sha without moving any ref", async () => {
		const r = await ingest([model.name, "--revision", model.commits[0], "--json"]);
		expect(r.code).toBe(0);
		expect(JSON.parse(r.stdout)).toMatchObject({ commit: model.commits[0], files: 9, refs: {} });
		const cat = await catalog();
		expect(snapshotOf(cat, model.name, model.commits[0])?.files.map((f) => f.path)).not.toContain("merges.txt");
		expect(cat!.repos.find((x) => x.name === model.name)!.refs).toEqual({});
	});

	it("ingests several repos in one run, each at its own @revision or --revision, and --json lists them", async () => {
		await emu.hub.commit({ repo: "org/second", files: { "config.json": "{}\n", "model.safetensors": Buffer.alloc(5000, 3) } });
		const r = await ingest([`${model.name}@${model.commits[0]}`, "org/second", "--json"]);
		expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
		const list = JSON.parse(r.stdout);
		expect(list).toHaveLength(2);
		expect(list[0]).toMatchObject({ repo: model.name, commit: model.commits[0], refs: {} });
		expect(list[1]).toMatchObject({ repo: "org/second", files: 2, refs: { main: expect.any(String) } });
		const cat = await catalog();
		expect(snapshotOf(cat, model.name, model.commits[0])).not.toBeNull();
		expect(cat!.repos.map((x) => x.name).sort()).toEqual([model.name, "org/second"].sort());
		// A bad name anywhere in the list is refused before anything is downloaded.
		emu.hub.resetCounters();
		const bad = await ingest(["org/second", "not a repo"]);
		expect(bad.code).toBe(2);
		expect(resolves()).toBe(0);
	});

	it("ingests a dataset with --repo-type dataset", async () => {
		await emu.hub.commit({ repo: "org/data", type: "dataset", files: { "data/train.parquet": Buffer.alloc(3000, 7), "README.md": "# data\n" } });
		const r = await ingest(["org/data", "--repo-type", "dataset", "--json"]);
		expect(r.code).toBe(0);
		expect(JSON.parse(r.stdout)).toMatchObject({ type: "dataset", files: 2 });
		expect((await catalog())!.repos.find((x) => x.name === "org/data")!.type).toBe("dataset");
	});

	it("keeps only --include matches, drops --exclude matches, and a later run adds to the same snapshot", async () => {
		const r = await ingest([model.name, "--include", "*.json", "--exclude", "2_Dense/*", "--json"]);
		expect(r.code).toBe(0);
		let snap = snapshotOf(await catalog(), model.name, model.commits[1])!;
		expect(snap.files.map((f) => f.path).sort()).toEqual(["config.json", "generation_config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]);
		expect((await ingest([model.name, "--include", "*.safetensors"])).code).toBe(0);
		snap = snapshotOf(await catalog(), model.name, model.commits[1])!;
		expect(snap.files.map((f) => f.path)).toEqual(expect.arrayContaining(["config.json", "model.safetensors", "2_Dense/model.safetensors"]));
		expect(snap.files).toHaveLength(7);
	});

	it("reports sizes from metadata alone with --dry-run, before and after an ingest", async () => {
		const total = [...emu.hub.repos.get(`model:${model.name}`)!.commits.get(model.commits[1])!.files.values()].reduce((a, f) => a + f.size, 0);
		const before = await ingest([model.name, "--dry-run", "--json"]);
		expect(before.code).toBe(0);
		expect(JSON.parse(before.stdout)).toMatchObject({ files: 10, totalBytes: total, downloadFiles: 10, downloadBytes: total, inStoreFiles: 0, inStoreBytes: 0 });
		expect(resolves()).toBe(0);
		expect(await readdir(tmp)).toEqual([]);
		expect((await ingest([model.name, "--include", "*.safetensors"])).code).toBe(0);
		const weights = ["model.safetensors", "2_Dense/model.safetensors"].reduce((a, p) => a + emu.hub.file({ repo: model.name, path: p })!.size, 0);
		const after = await ingest([model.name, "--dry-run"]);
		expect(after.code).toBe(0);
		expect(after.stdout).toContain(`to download: 8 files`);
		expect(after.stdout).toContain(`(${total - weights} bytes)`);
		expect(after.stdout).toContain(`in store:    2 files`);
	});
});

describe("ingestCommand against hub faults", () => {
	it("resumes a file whose connection drops mid-body and still verifies it", async () => {
		emu.hub.setFault({ kind: "drop", match: "model.safetensors", afterBytes: 1000, times: 2 });
		const r = await ingest([model.name, "--json"]);
		expect(r.stderr).toMatch(/retrying/);
		expect(r.code).toBe(0);
		const size = emu.hub.file({ repo: model.name, path: "model.safetensors" })!.size;
		// Continued with ranges: no byte was fetched twice.
		expect(emu.hub.bytesServed({ repo: model.name, path: "model.safetensors" })).toBe(size);
		expect(emu.hub.requests.some((q) => q.range === `bytes=1000-${size - 1}`)).toBe(true);
	});

	it("waits out a 429 with Retry-After and 5xx answers, then succeeds", async () => {
		emu.hub.setFault({ kind: "rateLimit", route: "info", retryAfterSeconds: 1, times: 1 });
		emu.hub.setFault({ kind: "serverError", route: "tree", times: 2 });
		emu.hub.setFault({ kind: "serverError", status: 503, match: "config.json", times: 2 });
		const r = await ingest([model.name]);
		expect(r.code).toBe(0);
		expect(r.stderr).toMatch(/rate-limited .*HTTP 429.*retrying in 1\.0 s/);
		expect(r.stderr).toMatch(/HTTP 500/);
		expect(r.stderr).toMatch(/HTTP 503/);
	});

	it("gives up after bounded retries with one clear line, and commits nothing", async () => {
		emu.hub.setFault({ kind: "serverError", match: "tokenizer.json" });
		const r = await ingest([model.name]);
		expect(r.code).toBe(3);
		expect(r.stderr).toMatch(/^modelfs: the hub failed on modelfs-test\/tiny-model@[0-9a-f]{40}:tokenizer.json \(HTTP 500\)$/m);
		expect(emu.hub.requests.filter((q) => q.url.endsWith("/tokenizer.json")).length).toBe(6);
		expect(snapshotOf(await catalog(), model.name, model.commits[1])).toBeNull();
	});

	it("downloads again from zero once when the bytes do not match the hub's digest", async () => {
		emu.hub.setFault({ kind: "corrupt", match: "model.safetensors", times: 1 });
		const r = await ingest([model.name]);
		expect(r.code).toBe(0);
		expect(r.stderr).toMatch(/model.safetensors: downloaded bytes do not match the hub's digest/);
	});

	it("fails with nothing kept when the bytes never match", async () => {
		emu.hub.setFault({ kind: "corrupt", match: "model.safetensors" });
		const r = await ingest([model.name]);
		expect(r.code).toBe(3);
		expect(r.stderr).toMatch(/model.safetensors: the downloaded bytes do not match the hub's sha256/);
		const sha256 = emu.hub.file({ repo: model.name, path: "model.safetensors" })!.sha256;
		expect(await readdir(join(storeDir, "tmp"))).not.toContain(`partial-${sha256}`);
		expect(snapshotOf(await catalog(), model.name, model.commits[1])).toBeNull();
		// The dry run (which reads the index) shows the weights are still missing.
		const d = JSON.parse((await ingest([model.name, "--dry-run", "--json"])).stdout);
		expect(d.downloadFiles).toBeGreaterThanOrEqual(1);
	});

	it("says a 404 EntryNotFound file is missing on the hub", async () => {
		emu.hub.setFault({ kind: "notFound", match: "merges.txt" });
		const r = await ingest([model.name]);
		expect(r.code).toBe(3);
		expect(r.stderr).toMatch(/merges.txt: not found on the hub \(HTTP 404 EntryNotFound\)/);
	});

	it("says HF_TOKEN is needed for a gated repo, that a wrong token lacks access, and works with the right one", async () => {
		emu.hub.addRepo({ name: model.name, gated: true, tokens: ["hf_goodtoken123"] });
		const none = await ingest([model.name]);
		expect(none.code).toBe(3);
		expect(none.stderr).toMatch(/is a gated repo: downloading it needs an access token/);
		expect(none.stderr).toMatch(/set HF_TOKEN/);
		const wrong = await ingest([model.name], { HF_TOKEN: "hf_wrongtoken456" });
		expect(wrong.code).toBe(3);
		expect(wrong.stderr).toMatch(/the access token given has no access to it/);
		expect(wrong.stderr + wrong.stdout).not.toContain("hf_wrongtoken456");
		const good = await ingest([model.name, "--token", "hf_goodtoken123"]);
		expect(good.code).toBe(0);
		expect(good.stderr + good.stdout).not.toContain("hf_goodtoken123");
		expect(snapshotOf(await catalog(), model.name, model.commits[1])?.files).toHaveLength(10);
	});

	it("answers a gated fault (401 GatedRepo) with the token hint", async () => {
		emu.hub.setFault({ kind: "gated", match: "model.safetensors" });
		const r = await ingest([model.name]);
		expect(r.code).toBe(3);
		expect(r.stderr).toMatch(/gated repo/);
	});

	it("says a private repo is not found without a token, and reads it with one", async () => {
		await emu.hub.commit({ repo: "org/private", files: { "config.json": "{}" } });
		emu.hub.addRepo({ name: "org/private", private: true, tokens: ["hf_privatetoken"] });
		const r = await ingest(["org/private"]);
		expect(r.code).toBe(3);
		expect(r.stderr).toMatch(/org\/private not found/);
		expect(r.stderr).toMatch(/if the repo is private, set HF_TOKEN/);
		expect((await ingest(["org/private"], { HF_TOKEN: "hf_privatetoken" })).code).toBe(0);
	});

	it("sends the token to every page of a private repo's paged listing (Link on the hub's own origin)", async () => {
		const files: Record<string, string> = {};
		for (let i = 0; i < 9; i++) files[`f${i}.txt`] = `file ${i}\n`;
		await emu.hub.commit({ repo: "org/paged", files });
		emu.hub.addRepo({ name: "org/paged", private: true, tokens: ["hf_pagedtoken"] });
		const r = await ingest(["org/paged"], { HF_TOKEN: "hf_pagedtoken" });
		expect(r.code, r.stderr).toBe(0);
		// treePageSize 4: three pages, each asked for with the token.
		const pages = emu.hub.requests.filter((q) => q.route === "tree");
		expect(pages).toHaveLength(3);
		expect(pages.every((q) => q.authorized && q.status === 200)).toBe(true);
		expect(snapshotOf(await catalog(), "org/paged", emu.hub.repos.get("model:org/paged")!.refs.get("main")!)?.files).toHaveLength(9);
	});
});

describe("ingestCommand bad input", () => {
	it.each([
		["a/b/c", /invalid repo id/],
		["../etc", /invalid repo id/],
		["org/na--me", /invalid repo id/],
		["spaces/org/app", /is a Space/],
	])("refuses the malformed repo id %s with exit 2", async (id, message) => {
		const r = await ingest([id]);
		expect(r.code).toBe(2);
		expect(r.stderr).toMatch(message);
		expect(emu.hub.requests).toHaveLength(0);
	});

	it("says an unknown repo is not found (exit 3)", async () => {
		const r = await ingest(["nobody/nothing"]);
		expect(r.code).toBe(3);
		expect(r.stderr).toMatch(/^modelfs: nobody\/nothing not found on http:\/\/127\.0\.0\.1:\d+\/? \(HTTP 401\)$/m);
	});

	it("says an unknown revision is not found (exit 3)", async () => {
		const r = await ingest([model.name, "--revision", "v9"]);
		expect(r.code).toBe(3);
		expect(r.stderr).toMatch(/revision v9 not found in modelfs-test\/tiny-model/);
	});

	it.each([["../escape.txt"], ["/etc/passwd"], ["a/../../b"]])("refuses a listed path %s that escapes the snapshot, before downloading", async (bad) => {
		await emu.hub.commit({ repo: "evil/repo", files: { "config.json": "{}", [bad]: "x" } });
		const r = await ingest(["evil/repo"]);
		expect(r.code).toBe(3);
		expect(r.stderr).toMatch(/would escape the snapshot folder; nothing was downloaded/);
		expect(resolves()).toBe(0);
		expect(snapshotOf(await catalog(), "evil/repo", emu.hub.repos.get("model:evil/repo")!.refs.get("main")!)).toBeNull();
	});

	it("refuses a token that holds whitespace without printing it (any other format is a mirror's)", async () => {
		const r = await ingest([model.name, "--token", "secret not-hf"]);
		expect(r.code).toBe(2);
		expect(r.stderr).toMatch(/is empty or holds whitespace/);
		expect(r.stderr).not.toContain("secret not-hf");
	});

	it("refuses a bad --concurrency and an --include that matches nothing", async () => {
		expect((await ingest([model.name, "--concurrency", "0"])).code).toBe(2);
		const r = await ingest([model.name, "--include", "*.gguf"]);
		expect(r.code).toBe(2);
		expect(r.stderr).toMatch(/no file of .* matches --include/);
	});

	it("refuses credentials in HF_ENDPOINT without printing them", async () => {
		const url = new URL(emu.url);
		const r = await ingest(["nobody/nothing"], { HF_ENDPOINT: `http://user:pa55word@${url.host}` });
		expect(r.code).toBe(2);
		expect(r.stderr).toMatch(/HF_ENDPOINT must not hold credentials/);
		expect(r.stderr).not.toContain("pa55word");
	});
});

describe("ingestCommand store contents", () => {
	it("indexes LFS files by sha256 and others by git sha1", async () => {
		expect((await ingest([model.name])).code).toBe(0);
		const snap = snapshotOf(await catalog(), model.name, model.commits[1])!;
		const cfg = snap.files.find((f) => f.path === "config.json")!;
		const bytes = await readFile(blobPath(storeDir, cfg.blake3));
		expect(cfg.etag).toBe(createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex"));
	});
});
