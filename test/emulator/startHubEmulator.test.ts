import { createHash } from "node:crypto";
import { datasetInfo, downloadFile, fileDownloadInfo, listFiles, modelInfo } from "@huggingface/hub";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FixtureModel, RunningHubEmulator } from "../support/hub-emulator/index.js";
import { addFixtureModel, startHubEmulator } from "../support/hub-emulator/index.js";

let emu: RunningHubEmulator;
let model: FixtureModel;

beforeEach(async () => {
	emu = await startHubEmulator({ treePageSize: 3 });
	model = await addFixtureModel({ hub: emu.hub });
});
afterEach(async () => {
	await emu.close();
});

async function collect<T>(gen: AsyncGenerator<T>): Promise<T[]> {
	const out: T[] = [];
	for await (const x of gen) out.push(x);
	return out;
}

describe("startHubEmulator", () => {
	it("pins main to the second commit through modelInfo and serves older commits by sha", async () => {
		const info = await modelInfo({ name: model.name, hubUrl: emu.url, additionalFields: ["sha"] });
		expect(info.sha).toBe(model.commits[1]);
		const old = await modelInfo({ name: model.name, hubUrl: emu.url, revision: model.commits[0], additionalFields: ["sha"] });
		expect(old.sha).toBe(model.commits[0]);
	});

	it("lists every file recursively across paginated tree pages, with LFS oids", async () => {
		const entries = await collect(listFiles({ repo: model.name, hubUrl: emu.url, revision: model.commits[1], recursive: true }));
		const files = entries
			.filter((e) => e.type === "file")
			.map((e) => e.path)
			.sort();
		expect(files).toEqual([
			"2_Dense/config.json",
			"2_Dense/model.safetensors",
			"README.md",
			"config.json",
			"generation_config.json",
			"merges.txt",
			"model.safetensors",
			"special_tokens_map.json",
			"tokenizer.json",
			"tokenizer_config.json",
		]);
		expect(entries.some((e) => e.type === "directory" && e.path === "2_Dense")).toBe(true);
		const st = entries.find((e) => e.path === "model.safetensors")!;
		const bytes = await emu.hub.content({ repo: model.name, path: "model.safetensors" });
		expect(st.lfs?.oid).toBe(createHash("sha256").update(bytes).digest("hex"));
		const cfg = entries.find((e) => e.path === "config.json")!;
		const cfgBytes = await emu.hub.content({ repo: model.name, path: "config.json" });
		expect(cfg.lfs).toBeUndefined();
		expect(cfg.oid).toBe(createHash("sha1").update(`blob ${cfgBytes.length}\0`).update(cfgBytes).digest("hex"));
		expect(emu.hub.requests.filter((r) => r.route === "tree").length).toBeGreaterThan(1);
	});

	it("serves a valid safetensors file whose header parses and whose tensors fill the rest", async () => {
		const blob = await downloadFile({ repo: model.name, path: "model.safetensors", hubUrl: emu.url, xet: false });
		const buf = Buffer.from(await blob!.arrayBuffer());
		const n = Number(buf.readBigUInt64LE(0));
		const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8")) as Record<string, { data_offsets?: [number, number] }>;
		const ends = Object.values(header).flatMap((t) => (t.data_offsets ? [t.data_offsets[1]] : []));
		expect(8 + n + Math.max(...ends)).toBe(buf.length);
	});

	it("answers ranged reads with 206 and Content-Range, and counts the bytes served", async () => {
		const blob = await downloadFile({ repo: model.name, path: "model.safetensors", hubUrl: emu.url, xet: false });
		const full = await emu.hub.content({ repo: model.name, path: "model.safetensors" });
		emu.hub.resetCounters();
		const part = Buffer.from(await blob!.slice(100, 300).arrayBuffer());
		expect(part.equals(full.subarray(100, 300))).toBe(true);
		expect(emu.hub.bytesServed({ repo: model.name, path: "model.safetensors" })).toBe(200);
		expect(emu.hub.requests.at(-1)).toMatchObject({ route: "resolve", range: "bytes=100-299", status: 206 });
	});

	it("gives X-Linked-Etag for LFS files and the git sha1 ETag for others, with X-Repo-Commit", async () => {
		const lfs = await fetch(`${emu.url}/${model.name}/resolve/main/model.safetensors`, { method: "HEAD" });
		const file = emu.hub.file({ repo: model.name, path: "model.safetensors" })!;
		expect(lfs.headers.get("x-linked-etag")).toBe(`"${file.sha256}"`);
		expect(lfs.headers.get("x-linked-size")).toBe(String(file.size));
		expect(lfs.headers.get("x-repo-commit")).toBe(model.commits[1]);
		const info = await fileDownloadInfo({ repo: model.name, path: "config.json", hubUrl: emu.url });
		expect(info?.etag).toBe(`"${emu.hub.file({ repo: model.name, path: "config.json" })!.contentSha1}"`);
	});

	it("returns null for a missing file and RepoNotFound / RevisionNotFound codes otherwise", async () => {
		expect(await downloadFile({ repo: model.name, path: "nope.bin", hubUrl: emu.url, xet: false })).toBeNull();
		const repo404 = await fetch(`${emu.url}/api/models/nobody/nothing/revision/main`);
		expect([repo404.status, repo404.headers.get("x-error-code")]).toEqual([401, "RepoNotFound"]);
		const rev404 = await fetch(`${emu.url}/api/models/${model.name}/revision/v9`);
		expect([rev404.status, rev404.headers.get("x-error-code")]).toEqual([404, "RevisionNotFound"]);
	});

	it("serves datasets under /api/datasets and /datasets/", async () => {
		await emu.hub.commit({ repo: "org/data", type: "dataset", files: { "train.parquet": Buffer.alloc(1000, 1) } });
		const info = await datasetInfo({ name: "org/data", hubUrl: emu.url, additionalFields: ["sha"] });
		const entries = await collect(listFiles({ repo: { type: "dataset", name: "org/data" }, hubUrl: emu.url, recursive: true }));
		expect(entries.map((e) => e.path)).toEqual(["train.parquet"]);
		const blob = await downloadFile({ repo: { type: "dataset", name: "org/data" }, path: "train.parquet", hubUrl: emu.url, xet: false });
		expect(blob?.size).toBe(1000);
		expect((info as { sha?: string }).sha).toMatch(/^[0-9a-f]{40}$/);
	});

	it("gates file downloads of a gated repo: 401 without a token, 403 with a wrong one, 200 with the right one", async () => {
		emu.hub.addRepo({ name: model.name, gated: true, tokens: ["hf_good"] });
		const url = `${emu.url}/${model.name}/resolve/main/config.json`;
		const none = await fetch(url);
		expect([none.status, none.headers.get("x-error-code")]).toEqual([401, "GatedRepo"]);
		const bad = await fetch(url, { headers: { Authorization: "Bearer hf_bad" } });
		expect(bad.status).toBe(403);
		const good = await fetch(url, { headers: { Authorization: "Bearer hf_good" } });
		expect(good.status).toBe(200);
		expect(emu.hub.requests.every((r) => !JSON.stringify(r).includes("hf_good"))).toBe(true);
	});

	it("generates big repeatable files on disk and serves them by range", async () => {
		await emu.hub.commit({ repo: "org/big", files: { "w.safetensors": { generate: { seed: "s", size: 5_000_000 } } } });
		await emu.hub.commit({ repo: "org/big2", files: { "w.safetensors": { generate: { seed: "s", size: 5_000_000 } } } });
		const a = emu.hub.file({ repo: "org/big", path: "w.safetensors" })!;
		const b = emu.hub.file({ repo: "org/big2", path: "w.safetensors" })!;
		expect(a.sha256).toBe(b.sha256);
		const res = await fetch(`${emu.url}/org/big/resolve/main/w.safetensors`, { headers: { Range: "bytes=4999990-" } });
		expect(res.status).toBe(206);
		expect(res.headers.get("content-range")).toBe("bytes 4999990-4999999/5000000");
		const full = await emu.hub.content({ repo: "org/big", path: "w.safetensors" });
		expect(Buffer.from(await res.arrayBuffer()).equals(full.subarray(4999990))).toBe(true);
		const bad = await fetch(`${emu.url}/org/big/resolve/main/w.safetensors`, { headers: { Range: "bytes=6000000-" } });
		expect(bad.status).toBe(416);
	});
});

describe("HubEmulator faults", () => {
	const path = "model.safetensors";
	const url = (): string => `${emu.url}/${model.name}/resolve/main/${path}`;

	it("drops the connection mid-body after the given bytes", async () => {
		emu.hub.setFault({ kind: "drop", match: path, afterBytes: 100, times: 1 });
		const res = await fetch(url());
		await expect(res.arrayBuffer()).rejects.toThrow();
		const again = await fetch(url());
		expect((await again.arrayBuffer()).byteLength).toBe(emu.hub.file({ repo: model.name, path })!.size);
	});

	it("answers 429 with Retry-After, then serves once the fault is spent", async () => {
		emu.hub.setFault({ kind: "rateLimit", match: path, retryAfterSeconds: 7, times: 1 });
		const res = await fetch(url());
		expect([res.status, res.headers.get("retry-after")]).toEqual([429, "7"]);
		expect((await fetch(url())).status).toBe(200);
	});

	it("answers 500 and 503 on demand", async () => {
		emu.hub.setFault({ kind: "serverError", route: "info", times: 1 });
		emu.hub.setFault({ kind: "serverError", status: 503, route: "info", times: 1 });
		expect((await fetch(`${emu.url}/api/models/${model.name}`)).status).toBe(500);
		expect((await fetch(`${emu.url}/api/models/${model.name}`)).status).toBe(503);
		expect((await fetch(`${emu.url}/api/models/${model.name}`)).status).toBe(200);
	});

	it("answers 401 GatedRepo and 404 with the chosen X-Error-Code", async () => {
		const g = emu.hub.setFault({ kind: "gated", match: path });
		const res = await fetch(url());
		expect([res.status, res.headers.get("x-error-code")]).toEqual([401, "GatedRepo"]);
		emu.hub.clearFault(g);
		emu.hub.setFault({ kind: "notFound", errorCode: "RevisionNotFound", match: path, times: 1 });
		const nf = await fetch(url());
		expect([nf.status, nf.headers.get("x-error-code")]).toEqual([404, "RevisionNotFound"]);
	});

	it("corrupts one byte of the body and leaves the size probe alone", async () => {
		emu.hub.setFault({ kind: "corrupt", match: path, times: 1 });
		const probe = await fetch(url(), { headers: { Range: "bytes=0-0" } });
		const full = await emu.hub.content({ repo: model.name, path });
		expect(Buffer.from(await probe.arrayBuffer())[0]).toBe(full[0]);
		const got = Buffer.from(await (await fetch(url())).arrayBuffer());
		expect(got.length).toBe(full.length);
		expect(got.equals(full)).toBe(false);
	});

	it("trickles the body when slow, byte-exact", async () => {
		emu.hub.setFault({ kind: "slow", match: path, bytesPerSecond: 64 * 1024 * 1024 });
		const got = Buffer.from(await (await fetch(url())).arrayBuffer());
		expect(got.equals(await emu.hub.content({ repo: model.name, path }))).toBe(true);
	});
});
