import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { listCatalogGenerations } from "../../src/store/catalog/listCatalogGenerations.js";
import { readCatalog } from "../../src/store/catalog/readCatalog.js";
import { storeWithModels } from "../commands/initStoreFixture.js";
import { addFixtureModel, startHubEmulator } from "../support/hub-emulator/index.js";
import { overwriteBytes } from "../support/overwriteBytes.js";
import { type CliResult, runCli } from "../support/runCli.js";

const PAGE = 4096;

const damages: Array<[string, (dataMdb: string) => void]> = [
	// Cut to three pages: the newer meta still names pages the file no longer has.
	["truncated", (p) => truncateSync(p, 3 * PAGE)],
	["zeroed meta pages", (p) => overwriteBytes(p, 0, Buffer.alloc(2 * PAGE))],
	["garbage meta pages", (p) => overwriteBytes(p, 0, randomBytes(2 * PAGE))],
	["truncated to one page", (p) => truncateSync(p, PAGE)],
];

/** Exited on its own with `code` and said, in one line, that the index is damaged and what to run. */
function refusedDamaged(r: CliResult, code = 4): void {
	expect(r.signal, r.stderr).toBeNull();
	expect(r.code, r.stderr).toBe(code);
	const lines = r.stderr.trim().split("\n");
	expect(lines, r.stderr).toHaveLength(1);
	expect(lines[0]).toMatch(/^modelfs: the store index .*\/index\/data\.mdb is damaged \(.+\): run `modelfs rebuild-index`/);
	expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe("a damaged index/data.mdb", () => {
	it.each(damages)(
		"%s: every command says so in one line and exits 4; rebuild-index brings back the same repos and verify passes",
		async (_name, damage) => {
			const { store, cache } = await storeWithModels();
			const before = await runCli(["ls", "--json", "--store", store]);
			expect(before.code, before.stderr).toBe(0);
			const repos = JSON.parse(before.stdout);
			expect(repos.map((r: { name: string }) => r.name).sort()).toEqual(["org/data", "org/llama"]);
			const dataMdb = join(store, "index", "data.mdb");
			expect(statSync(dataMdb).size).toBeGreaterThan(3 * PAGE);
			damage(dataMdb);

			for (const args of [["ls"], ["verify"], ["gc"], ["gc", "--dry-run"], ["df"], ["init"], ["import", cache]]) {
				refusedDamaged(await runCli([...args, "--store", store]));
			}

			const rebuilt = await runCli(["rebuild-index", "--json", "--store", store]);
			expect(rebuilt.code, rebuilt.stderr).toBe(0);
			const report = JSON.parse(rebuilt.stdout);
			expect(report).toMatchObject({ repos: 2, snapshots: 3, missing: [], damaged: [], unreferenced: 0 });
			// The damaged index is kept, moved aside.
			expect(report.movedTo).toMatch(/\/quarantine\/index-/);
			expect(readFileSync(join(report.movedTo, "data.mdb")).length).toBeGreaterThan(0);

			const after = await runCli(["ls", "--json", "--store", store]);
			expect(after.code, after.stderr).toBe(0);
			expect(after.stderr).toBe("");
			expect(JSON.parse(after.stdout)).toEqual(repos);
			const verify = await runCli(["verify", "--store", store]);
			expect(verify.code, verify.stdout + verify.stderr).toBe(0);
			expect(verify.stdout).toMatch(/0 bad/);
			for (const args of [["gc"], ["df"]]) {
				const r = await runCli([...args, "--store", store]);
				expect(r.code, r.stderr).toBe(0);
			}
			// A writer works on the rebuilt index: the import finds every blob already there.
			const again = await runCli(["import", cache, "--json", "--store", store]);
			expect(again.code, again.stderr).toBe(0);
			expect(JSON.parse(again.stdout).bytesCopied).toBe(0);
			expect(JSON.parse((await runCli(["ls", "--json", "--store", store])).stdout)).toEqual(repos);
		},
		240_000,
	);

	it("a missing data.mdb under published catalogs: readers use the catalog, writers refuse instead of starting an empty index; rebuild-index restores it", async () => {
		const { store, cache } = await storeWithModels();
		const repos = JSON.parse((await runCli(["ls", "--json", "--store", store])).stdout);
		rmSync(join(store, "index", "data.mdb"));
		const ls = await runCli(["ls", "--json", "--store", store]);
		expect(ls.code, ls.stderr).toBe(0);
		expect(JSON.parse(ls.stdout)).toEqual(repos);
		for (const args of [["gc"], ["import", cache]]) {
			const r = await runCli([...args, "--store", store]);
			expect(r.code, r.stderr).toBe(4);
			expect(r.stderr).toMatch(/^modelfs: the store index .*data\.mdb is missing though catalog generation \d+ is published: run `modelfs rebuild-index`/);
		}
		expect((await runCli(["rebuild-index", "--store", store])).code).toBe(0);
		expect(JSON.parse((await runCli(["ls", "--json", "--store", store])).stdout)).toEqual(repos);
		expect((await runCli(["gc", "--store", store])).code).toBe(0);
	}, 120_000);

	it("ingest from the hub stops with the one line too, and works after rebuild-index", async () => {
		const emu = await startHubEmulator({});
		onTestFinished(() => emu.close());
		const model = await addFixtureModel({ hub: emu.hub });
		const env = { HF_ENDPOINT: emu.url, HF_TOKEN: "", MODELFS_HUB_RETRY_BASE_MS: "10" };
		const { store } = await storeWithModels();
		truncateSync(join(store, "index", "data.mdb"), 3 * PAGE);
		refusedDamaged(await runCli(["ingest", model.name, "--store", store], { env }));
		expect((await runCli(["rebuild-index", "--store", store])).code).toBe(0);
		const ingested = await runCli(["ingest", model.name, "--store", store], { env });
		expect(ingested.code, ingested.stderr).toBe(0);
		const names = JSON.parse((await runCli(["ls", "--json", "--store", store])).stdout)
			.map((r: { name: string }) => r.name)
			.sort();
		expect(names).toEqual(["org/data", "org/llama", model.name].sort());
	}, 120_000);

	it("rebuild-index --verify hashes every blob and leaves out one whose bytes changed; verify then names it", async () => {
		const { store, weights } = await storeWithModels();
		const catalog = (await readCatalog({ storeDir: store }))!;
		const shard = catalog.repos.flatMap((r) => r.snapshots.flatMap((s) => s.files)).find((f) => f.path === "model.safetensors")!;
		const object = join(store, "objects", shard.blake3.slice(0, 2), shard.blake3);
		chmodSync(object, 0o644);
		overwriteBytes(object, 100, Buffer.from("changed"));
		truncateSync(join(store, "index", "data.mdb"), 3 * PAGE);
		const r = await runCli(["rebuild-index", "--verify", "--json", "--store", store]);
		expect(r.code, r.stderr).toBe(0);
		const report = JSON.parse(r.stdout);
		expect(report).toMatchObject({ verified: true, hashed: 4, damaged: [shard.blake3], missing: [] });
		expect(report.hashedBytes).toBe(weights.length + 2 + 7 + 3);
		// The names are all kept: the snapshots still list the damaged file.
		expect(JSON.parse((await runCli(["ls", "--json", "--store", store])).stdout).map((x: { name: string }) => x.name)).toEqual(["org/data", "org/llama"]);
		const verify = await runCli(["verify", "--store", store]);
		expect(verify.code).toBe(4);
		expect(verify.stdout).toContain(shard.blake3);
		const help = await runCli(["rebuild-index", "--help"]);
		expect(help.stdout).toContain("--verify");
		expect(help.stdout).toMatch(/not\s+re-hashed/);
	}, 120_000);

	it("rebuild-index without a catalog that parses changes nothing and says the names are lost", async () => {
		const { store } = await storeWithModels();
		truncateSync(join(store, "index", "data.mdb"), PAGE);
		for (const g of await listCatalogGenerations(store)) {
			const path = join(store, "catalog", String(g));
			chmodSync(path, 0o644);
			writeFileSync(path, "\0".repeat(64));
		}
		const r = await runCli(["rebuild-index", "--store", store]);
		expect(r.signal).toBeNull();
		expect(r.code, r.stderr).toBe(4);
		expect(r.stderr).toContain("parses");
		expect(r.stderr).toContain("cannot be rebuilt from the objects alone");
		expect(r.stderr).not.toMatch(/\n\s+at /);
		expect(statSync(join(store, "index", "data.mdb")).size).toBe(PAGE);
		expect(readdirSync(join(store, "quarantine")).filter((n) => n.startsWith("index-"))).toEqual([]);
	}, 120_000);
});

describe("a newest catalog generation that does not parse", () => {
	it("ls warns naming the file and uses the generation before it; gc does not die; the next import republishes it", async () => {
		const { store, cache } = await storeWithModels();
		const [newest, previous] = await listCatalogGenerations(store);
		const older = await readCatalog({ storeDir: store, onSkip: () => undefined });
		const bad = join(store, "catalog", String(newest));
		chmodSync(bad, 0o644);
		writeFileSync(bad, '{"format": 1, "generation": ');

		const ls = await runCli(["ls", "--json", "--store", store]);
		expect(ls.code, ls.stderr).toBe(0);
		expect(ls.stderr.trim().split("\n")).toHaveLength(1);
		expect(ls.stderr).toContain(`catalog ${bad} does not parse`);
		const previousCatalog = JSON.parse(readFileSync(join(store, "catalog", String(previous)), "utf8"));
		expect(JSON.parse(ls.stdout).map((r: { name: string }) => r.name)).toEqual(previousCatalog.repos.map((r: { name: string }) => r.name));

		// Readers only: a writer (verify opens as one when it can) would republish.
		for (const args of [["df"], ["gc", "--dry-run"]]) {
			const r = await runCli([...args, "--store", store]);
			expect(r.signal).toBeNull();
			expect(r.code, r.stderr).toBe(0);
			expect(r.stderr).toContain(bad);
			expect(r.stderr).not.toMatch(/\n\s+at /);
		}

		const imp = await runCli(["import", cache, "--store", store]);
		expect(imp.code, imp.stderr).toBe(0);
		expect(imp.stderr).toContain(`catalog ${bad} did not parse: moved it to`);
		const republished = await readCatalog({ storeDir: store, onSkip: () => expect.fail("the newest catalog still does not parse") });
		expect(republished!.generation).toBeGreaterThanOrEqual(newest);
		expect(republished!.repos.map((r) => r.name)).toEqual(older!.repos.map((r) => r.name));
		// Generation `newest` was published again (the import's own commits then came on top).
		if (existsSync(bad)) expect(JSON.parse(readFileSync(bad, "utf8")).generation).toBe(newest);
		expect(readdirSync(join(store, "quarantine")).some((n) => n.startsWith(`catalog-${newest}.`))).toBe(true);

		const after = await runCli(["ls", "--store", store]);
		expect(after.code).toBe(0);
		expect(after.stderr).toBe("");
		const verify = await runCli(["verify", "--store", store]);
		expect(verify.code, verify.stderr).toBe(0);
		expect(verify.stderr).toBe("");
		const gc = await runCli(["gc", "--store", store]);
		expect(gc.code, gc.stderr).toBe(0);
	}, 120_000);
});
