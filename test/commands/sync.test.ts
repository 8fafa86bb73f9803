import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readCatalog } from "../../src/store/catalog/readCatalog.js";
import { canMount } from "../support/canMount.js";
import type { RunningHubEmulator } from "../support/hub-emulator/index.js";
import { startHubEmulator } from "../support/hub-emulator/index.js";
import { runCli } from "../support/runCli.js";

let emu: RunningHubEmulator;
let tmp: string;

beforeEach(async () => {
	tmp = await mkdtemp(join(tmpdir(), "modelfs-sync-"));
	emu = await startHubEmulator();
	// Two models that share their tokenizer, and a third the list does not name.
	const tokenizer = `${"{}".repeat(2000)}\n`;
	await emu.hub.commit({ repo: "org/a", files: { "model.safetensors": { content: Buffer.alloc(300_000, 1), lfs: true }, "tokenizer.json": tokenizer } });
	await emu.hub.commit({ repo: "org/b", files: { "model.safetensors": { content: Buffer.alloc(200_000, 2), lfs: true }, "tokenizer.json": tokenizer, "extra.md": "x" } });
	await emu.hub.commit({ repo: "org/old", files: { "w.bin": { content: Buffer.alloc(1000, 3), lfs: true } } });
});
afterEach(async () => {
	await emu.close();
	await rm(tmp, { recursive: true, force: true });
});

function sync(args: string[]) {
	return runCli(["sync", ...args], { env: { HF_ENDPOINT: emu.url, HF_TOKEN: "", MODELFS_HUB_RETRY_BASE_MS: "10" } });
}

describe("modelfs sync", () => {
	it("sizes the list from hub metadata with --dry-run --json, ingests what is missing, and a second run fetches nothing", async () => {
		const store = join(tmp, "store");
		const config = join(tmp, "config.yaml");
		await writeFile(config, `store: ${store}\nviews: [{name: hf, mountpoint: ${join(tmp, "view")}}]\nmodels:\n  - org/a\n  - {repo: org/b, exclude: ["*.md"]}\n`);
		const dry = await sync(["--config", config, "--dry-run", "--json"]);
		expect(dry.code, dry.stderr).toBe(0);
		const d = JSON.parse(dry.stdout);
		expect(d.models.map((m: { repo: string }) => m.repo)).toEqual(["org/a", "org/b"]);
		const a = d.models[0].result;
		const b = d.models[1].result;
		expect(b.files).toBe(2);
		expect(d.totalBytes).toBe(a.totalBytes + b.totalBytes);
		expect(d.downloadBytes).toBe(d.totalBytes);
		expect(await readCatalog({ storeDir: store })).toBeNull();

		const run = await sync(["--config", config, "--json", "--quiet"]);
		expect(run.code, run.stderr).toBe(0);
		const r = JSON.parse(run.stdout);
		// The shared tokenizer is fetched once.
		expect(r.downloadBytes).toBe(d.totalBytes - Buffer.byteLength(`${"{}".repeat(2000)}\n`));
		const cat = await readCatalog({ storeDir: store });
		expect(cat?.repos.map((x) => x.name).sort()).toEqual(["org/a", "org/b"]);

		const again = JSON.parse((await sync(["--config", config, "--json", "--quiet"])).stdout);
		expect(again.downloadBytes).toBe(0);
		expect(again.inStoreBytes).toBe(d.totalBytes);
	});

	it("takes the list from --from, removes nothing by default, and removes what the list does not name only with --prune", async () => {
		const store = join(tmp, "store");
		const list = join(tmp, "models.yaml");
		await writeFile(list, "models: [org/old]\n");
		expect((await sync(["--from", list, "--store", store, "--quiet"])).code).toBe(0);
		await writeFile(list, "- org/a\n");
		const kept = await sync(["--from", list, "--store", store, "--quiet"]);
		expect(kept.code, kept.stderr).toBe(0);
		expect((await readCatalog({ storeDir: store }))?.repos.map((x) => x.name).sort()).toEqual(["org/a", "org/old"]);
		const dry = JSON.parse((await sync(["--from", list, "--store", store, "--prune", "--dry-run", "--json"])).stdout);
		expect(dry.removed).toEqual(["org/old"]);
		expect((await readCatalog({ storeDir: store }))?.repos.map((x) => x.name).sort()).toEqual(["org/a", "org/old"]);
		const pruned = await sync(["--from", list, "--store", store, "--prune"]);
		expect(pruned.code, pruned.stderr).toBe(0);
		expect(pruned.stdout).toContain("removed org/old");
		expect((await readCatalog({ storeDir: store }))?.repos.map((x) => x.name)).toEqual(["org/a"]);
	});

	it("says what to do when there is no list, and names a bad entry", async () => {
		const none = await sync(["--config", join(tmp, "missing.yaml")]);
		expect(none.code).toBe(2);
		const list = join(tmp, "bad.yaml");
		await writeFile(list, "models: [{repo: org/a, revison: main}]\n");
		const bad = await sync(["--from", list]);
		expect(bad.code).toBe(2);
		expect(bad.stderr).toContain('models[0]: unknown key "revison"');
	});

	it.runIf(canMount)("refreshes this node's live views of the store in place, so a mounted view shows the new model", async () => {
		const store = join(tmp, "store");
		const mnt = join(tmp, "view");
		const run = join(tmp, "run");
		await mkdir(mnt);
		const env = { HF_ENDPOINT: emu.url, HF_TOKEN: "", MODELFS_RUN_DIR: run };
		expect((await runCli(["init", "--store", store])).code).toBe(0);
		const mounted = await runCli(["mount", mnt, "--store", store], { env });
		expect(mounted.code, mounted.stderr).toBe(0);
		// Unmounted here, not in a hook: afterEach removes the temp folder first.
		try {
			const list = join(tmp, "models.yaml");
			await writeFile(list, "- org/a\n");
			const r = await runCli(["sync", "--from", list, "--store", store, "--json", "--quiet"], { env });
			expect(r.code, r.stderr).toBe(0);
			expect(JSON.parse(r.stdout).refreshed).toEqual([mnt]);
			const commit = (await readFile(join(mnt, "models--org--a", "refs", "main"), "utf8")).trim();
			expect((await readFile(join(mnt, "models--org--a", "snapshots", commit, "model.safetensors"))).equals(Buffer.alloc(300_000, 1))).toBe(true);
		} finally {
			await runCli(["umount", mnt, "--lazy"], { env });
		}
	});
});
