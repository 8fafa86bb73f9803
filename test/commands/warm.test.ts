import { realpathSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runPageCacheTool } from "../../src/residency/runPageCacheTool.js";
import { readCatalog } from "../../src/store/catalog/readCatalog.js";
import { blobPath } from "../../src/store/objects/blobPath.js";
import { bytes, tempDir } from "../overlay/fixtures.js";
import { addRepoToStore } from "../overlay/makeStore.js";
import { mountTestView } from "../overlay/mountTestView.js";
import { canMount } from "../support/canMount.js";
import { runCli } from "../support/runCli.js";

const FILES = [
	{ path: "config.json", bytes: Buffer.from('{"a":1}') },
	{ path: "model-00001-of-00002.safetensors", bytes: bytes("w1", 6 << 20) },
	{ path: "model-00002-of-00002.safetensors", bytes: bytes("w2", 3 << 20) },
];
const TOTAL = FILES.reduce((n, f) => n + f.bytes.length, 0);

async function setup() {
	const root = realpathSync(tempDir("modelfs-warm-"));
	const storeDir = join(root, "store");
	const commit = await addRepoToStore({ storeDir, repo: "org/model", files: FILES });
	const catalog = (await readCatalog({ storeDir }))!;
	const blobs = catalog.repos[0].snapshots[0].files.map((f) => blobPath(storeDir, f.blake3));
	const resident = async () => (await runPageCacheTool({ mode: "resident", paths: blobs })).reduce((n, r) => n + (r.resident ?? 0), 0);
	return { root, storeDir, commit, blobs, resident };
}

describe("modelfs warm and evict", () => {
	it("warm puts every byte of the snapshot's blobs in the page cache and evict takes them out, as mincore measures", async () => {
		const { storeDir, commit, resident } = await setup();
		const out = await runCli(["evict", "org/model", "--store", storeDir, "--json"]);
		expect(out.code, out.stderr).toBe(0);
		expect(JSON.parse(out.stdout)).toMatchObject({ commit, files: 3, bytes: TOTAL, residentAfter: 0 });
		expect(await resident()).toBe(0);

		const warm = await runCli(["warm", `org/model@${commit}`, "--store", storeDir, "--json"]);
		expect(warm.code, warm.stderr).toBe(0);
		expect(JSON.parse(warm.stdout)).toMatchObject({ repo: "org/model", commit, files: 3, bytes: TOTAL, residentBytes: TOTAL, residentThroughBytes: null });
		expect(await resident()).toBe(TOTAL);

		const evict = await runCli(["evict", "org/model@main", "--store", storeDir]);
		expect(evict.code, evict.stderr).toBe(0);
		expect(evict.stdout).toBe(`evicted org/model@${commit}: 9.0 MiB were in the page cache, 0 B still are (3 files, 9.0 MiB)\n`);
		expect(await resident()).toBe(0);
	});

	it("says what it read and how much is cached, and exits 2 for a repo the store lacks", async () => {
		const { storeDir, commit } = await setup();
		const warm = await runCli(["warm", "org/model", "--store", storeDir, "--concurrency", "2"]);
		expect(warm.code, warm.stderr).toBe(0);
		expect(warm.stdout).toMatch(
			new RegExp(`^warmed org/model@${commit}: 3 files, 9.0 MiB read in [0-9.]+ s \\([0-9.]+ GB/s\\)\\nin the page cache: 9.0 MiB of 9.0 MiB \\(100%\\) of the store's blobs\\n$`),
		);
		const missing = await runCli(["warm", "org/other", "--store", storeDir]);
		expect(missing.code).toBe(2);
		expect(missing.stderr).toContain("modelfs: repo org/other is not in the store");
	});

	describe.runIf(canMount)("through a mounted view", () => {
		it("warm --through the view's mountpoint fills the cache the view's reads come from", async () => {
			const { root, storeDir, commit, resident } = await setup();
			const view = await mountTestView({ root, storeDir, prefix: "huggingface/hub" });
			await runCli(["evict", "org/model", "--store", storeDir, "--through", view.mountpoint]);
			expect(await resident()).toBe(0);
			const warm = await runCli(["warm", "org/model", "--store", storeDir, "--through", view.mountpoint, "--json"]);
			expect(warm.code, warm.stderr).toBe(0);
			const r = JSON.parse(warm.stdout);
			expect(r).toMatchObject({ through: join(view.mountpoint, "huggingface", "hub", "models--org--model", "snapshots", commit), bytes: TOTAL });
			// Passthrough reads the blob itself; daemon-served reads read it too: the blobs are cached either way.
			expect(await resident()).toBe(TOTAL);
			const evict = await runCli(["evict", "org/model", "--store", storeDir, "--through", view.mountpoint, "--json"]);
			expect(JSON.parse(evict.stdout)).toMatchObject({ residentAfter: 0, errors: 0 });
			expect(await resident()).toBe(0);
			const wrong = await runCli(["warm", "org/model", "--store", storeDir, "--through", root]);
			expect(wrong.code).toBe(2);
			expect(wrong.stderr).toContain(`modelfs: ${root} does not show org/model@${commit.slice(0, 12)}`);
		});
	});
});
