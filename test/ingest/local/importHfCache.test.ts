import { createHash } from "node:crypto";
import { chownSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { importHfCache } from "../../../src/ingest/local/importHfCache.js";
import { readCatalog } from "../../../src/store/catalog/readCatalog.js";
import { storeUsage } from "../../../src/store/maintenance/storeUsage.js";
import { newStore, tempDir } from "../../store/storeFixtures.js";
import { fixtureBytes, gitSha1, makeHfCache, sha256 } from "./importFixtures.js";

const C1 = "a".repeat(40);
const C2 = "b".repeat(40);
const weights = fixtureBytes(3 << 20, 42);

function model(name: string, extra: Array<{ path: string; content: string }> = []) {
	return {
		name,
		commits: [
			{
				commit: C1,
				files: [
					{ path: "config.json", content: '{"model_type":"llama"}' },
					{ path: "model.safetensors", content: weights, lfs: true },
					{ path: "tokenizer/tokenizer.json", content: "{}" },
					...extra,
				],
			},
		],
		refs: { main: C1 },
	};
}

/** Every path under `dir` with its lstat mode, size, mtime and content digest. */
function fingerprint(dir: string): string[] {
	const out: string[] = [];
	const walk = (d: string) => {
		for (const n of readdirSync(d).sort()) {
			const p = join(d, n);
			const st = statSync(p, { throwIfNoEntry: false });
			const l = statSync(p);
			if (l.isDirectory()) walk(p);
			else out.push(`${relative(dir, p)} ${l.mode} ${l.size} ${l.mtimeMs} ${st ? createHash("sha1").update(readFileSync(p)).digest("hex") : "-"}`);
		}
	};
	walk(dir);
	return out;
}

describe("importHfCache", () => {
	it("imports every repo, snapshot and ref with the cache's etags", async () => {
		const store = await newStore();
		const cache = tempDir();
		makeHfCache(cache, [
			model("org/llama"),
			{ type: "dataset", name: "org/data", commits: [{ commit: C2, files: [{ path: "train.parquet", content: "rows", lfs: true }] }], refs: { main: C2, "pr/1": C2 } },
		]);
		const before = fingerprint(cache);
		const report = await importHfCache({ store, paths: [cache] });
		expect(report.skipped).toEqual([]);
		expect(report.files).toBe(4);
		const cat = await readCatalog({ storeDir: store.dir });
		const llama = cat!.repos.find((r) => r.name === "org/llama")!;
		expect(llama.refs).toEqual({ main: C1 });
		const files = Object.fromEntries(llama.snapshots[0].files.map((f) => [f.path, f.etag]));
		expect(files).toEqual({
			"config.json": gitSha1(Buffer.from('{"model_type":"llama"}')),
			"model.safetensors": sha256(weights),
			"tokenizer/tokenizer.json": gitSha1(Buffer.from("{}")),
		});
		expect(cat!.repos.find((r) => r.name === "org/data")).toMatchObject({ type: "dataset", refs: { main: C2, "pr/1": C2 } });
		// The source is never modified.
		expect(fingerprint(cache)).toEqual(before);
	});

	it("stores weights shared by two caches once (df shows the dedup)", async () => {
		const store = await newStore();
		const c1 = tempDir();
		const c2 = tempDir();
		makeHfCache(c1, [model("org/llama")]);
		makeHfCache(c2, [model("org/llama-copy")]);
		const r1 = await importHfCache({ store, paths: [c1] });
		const r2 = await importHfCache({ store, paths: [c2] });
		expect(r1.bytesCopied).toBeGreaterThanOrEqual(weights.length);
		// The second copy is recognised by its sha256 name and not even read.
		expect(r2.bytesDeduplicated).toBeGreaterThanOrEqual(weights.length);
		expect(r2.bytesCopied).toBe(0);
		const u = await storeUsage({ storeDir: store.dir });
		expect(u.logicalBytes).toBeGreaterThanOrEqual(2 * weights.length);
		expect(u.storedBytes).toBeLessThan(weights.length + 1000);
		expect(u.dedupRatio).toBeGreaterThan(1.9);
	});

	it("reports and skips broken symlinks, .incomplete files and corrupt blobs, importing the rest", async () => {
		const store = await newStore();
		const cache = tempDir();
		const [repoDir] = makeHfCache(cache, [model("org/llama")]);
		const snap = join(repoDir, "snapshots", C1);
		symlinkSync(`../../blobs/${"c".repeat(64)}`, join(snap, "missing.safetensors"));
		writeFileSync(join(repoDir, "blobs", `${"d".repeat(64)}.incomplete`), "half");
		// A blob whose content does not match its sha256 name.
		const liar = Buffer.from("not what the name says");
		writeFileSync(join(repoDir, "blobs", "e".repeat(64)), liar);
		symlinkSync(`../../blobs/${"e".repeat(64)}`, join(snap, "liar.bin"));
		const skips: string[] = [];
		const report = await importHfCache({ store, paths: [cache], onSkip: (s) => skips.push(s.reason) });
		expect(skips.sort()).toEqual(["broken-symlink", "hash-mismatch", "incomplete"]);
		const cat = await readCatalog({ storeDir: store.dir });
		expect(cat!.repos[0].snapshots[0].files.map((f) => f.path)).toEqual(["config.json", "model.safetensors", "tokenizer/tokenizer.json"]);
		expect(report.skipped).toHaveLength(3);
	});

	it("with trustNames takes the sha256 name without checking it", async () => {
		const store = await newStore();
		const cache = tempDir();
		const [repoDir] = makeHfCache(cache, [model("org/llama")]);
		writeFileSync(join(repoDir, "blobs", "e".repeat(64)), "not what the name says");
		symlinkSync(`../../blobs/${"e".repeat(64)}`, join(repoDir, "snapshots", C1, "liar.bin"));
		const report = await importHfCache({ store, paths: [cache], trustNames: true });
		expect(report.skipped).toEqual([]);
		expect(report.files).toBe(4);
	});

	it("accepts a single models--org--name folder and HF_HOME (with hub/ inside)", async () => {
		const store = await newStore();
		const home = tempDir();
		const [repoDir] = makeHfCache(join(home, "hub"), [model("org/one")]);
		expect((await importHfCache({ store, paths: [repoDir] })).repos.map((r) => r.name)).toEqual(["org/one"]);
		expect((await importHfCache({ store, paths: [home] })).repos.map((r) => r.name)).toEqual(["org/one"]);
	});

	it("says clearly when a path is missing or not a cache", async () => {
		const store = await newStore();
		const dir = tempDir();
		await expect(importHfCache({ store, paths: [join(dir, "nope")] })).rejects.toMatchObject({ code: "IMPORT_PATH_NOT_FOUND" });
		mkdirSync(join(dir, "plain"));
		writeFileSync(join(dir, "plain", "config.json"), "{}");
		await expect(importHfCache({ store, paths: [join(dir, "plain")] })).rejects.toMatchObject({ code: "IMPORT_NOT_A_CACHE" });
		await expect(importHfCache({ store, paths: [join(dir, "plain", "config.json")] })).rejects.toMatchObject({ code: "IMPORT_NOT_A_CACHE" });
		expect(await readCatalog({ storeDir: store.dir })).toBeNull();
	});

	it.runIf(process.getuid?.() === 0)("skips a file it cannot read (run as an unprivileged user)", async () => {
		// Root reads anything, so this runs the import as `nobody` in a child process.
		const { spawnSync } = await import("node:child_process");
		const { fileURLToPath } = await import("node:url");
		const dir = tempDir();
		chownSync(dir, 65534, 65534);
		const [repoDir] = makeHfCache(join(dir, "cache"), [model("org/llama")]);
		const secret = Buffer.from("secret");
		writeFileSync(join(repoDir, "blobs", gitSha1(secret)), secret, { mode: 0o600 });
		symlinkSync(`../../blobs/${gitSha1(secret)}`, join(repoDir, "snapshots", C1, "secret.txt"));
		const storeDir = join(dir, "store");
		const cli = fileURLToPath(new URL("../../../src/cli.ts", import.meta.url));
		const env = { ...process.env, HOME: dir, TSX_TSCONFIG_PATH: undefined, TMPDIR: dir };
		const run = (args: string[]) =>
			spawnSync(process.execPath, ["--import", "tsx", cli, ...args], { uid: 65534, gid: 65534, env, encoding: "utf8", cwd: fileURLToPath(new URL("../../..", import.meta.url)) });
		expect(run(["init", "--store", storeDir]).status).toBe(0);
		const r = run(["import", join(dir, "cache"), "--store", storeDir, "--json"]);
		expect(r.stderr).toContain("secret.txt");
		expect(r.status).toBe(0);
		const report = JSON.parse(r.stdout);
		expect(report.skipped.map((s: { reason: string }) => s.reason)).toEqual(["unreadable"]);
		expect(report.files).toBe(3);
	});
});
