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

/**
 * Runs warm, then measures; again (3 tries at most) when something dropped
 * the machine's whole page cache in between (a cold-read bench of another
 * checkout runs `drop_caches`). A warm that does not fill the cache fails
 * every try.
 */
async function warmed(args: string[], resident: () => Promise<number>): Promise<{ stdout: string; resident: number }> {
	let last = { stdout: "", resident: -1 };
	for (let i = 0; i < 3; i++) {
		const warm = await runCli(["warm", ...args]);
		expect(warm.code, warm.stderr).toBe(0);
		last = { stdout: warm.stdout, resident: await resident() };
		if (last.resident === TOTAL && (!args.includes("--json") || JSON.parse(warm.stdout).residentBytes === TOTAL) && (args.includes("--json") || warm.stdout.includes("(100%)")))
			break;
	}
	return last;
}

describe("modelfs warm and evict", () => {
	it("warm puts every byte of the snapshot's blobs in the page cache and evict takes them out, as mincore measures", async () => {
		const { storeDir, commit, resident } = await setup();
		const out = await runCli(["evict", "org/model", "--store", storeDir, "--json"]);
		expect(out.code, out.stderr).toBe(0);
		expect(JSON.parse(out.stdout)).toMatchObject({ commit, files: 3, bytes: TOTAL, residentAfter: 0 });
		expect(await resident()).toBe(0);

		const warm = await warmed([`org/model@${commit}`, "--store", storeDir, "--json"], resident);
		expect(JSON.parse(warm.stdout)).toMatchObject({ repo: "org/model", commit, files: 3, bytes: TOTAL, residentBytes: TOTAL, residentThroughBytes: null });
		expect(warm.resident).toBe(TOTAL);

		const evict = await runCli(["evict", "org/model@main", "--store", storeDir]);
		expect(evict.code, evict.stderr).toBe(0);
		// What was cached just before depends on the machine (a bench elsewhere may drop every cache); what is left does not.
		expect(evict.stdout).toMatch(new RegExp(`^evicted org/model@${commit}: [0-9.]+ (B|KiB|MiB) were in the page cache, 0 B still are \\(3 files, 9\\.0 MiB\\)\n$`));
		expect(await resident()).toBe(0);
	});

	it("says what it read and how much is cached, and exits 2 for a repo the store lacks", async () => {
		const { storeDir, commit, resident } = await setup();
		const warm = await warmed(["org/model", "--store", storeDir, "--concurrency", "2"], resident);
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
			const warm = await warmed(["org/model", "--store", storeDir, "--through", view.mountpoint, "--json"], resident);
			const r = JSON.parse(warm.stdout);
			expect(r).toMatchObject({ through: join(view.mountpoint, "huggingface", "hub", "models--org--model", "snapshots", commit), bytes: TOTAL });
			// Passthrough reads the blob itself; daemon-served reads read it too: the blobs are cached either way.
			expect(warm.resident).toBe(TOTAL);
			const evict = await runCli(["evict", "org/model", "--store", storeDir, "--through", view.mountpoint, "--json"]);
			expect(JSON.parse(evict.stdout)).toMatchObject({ residentAfter: 0, errors: 0 });
			expect(await resident()).toBe(0);
			const wrong = await runCli(["warm", "org/model", "--store", storeDir, "--through", root]);
			expect(wrong.code).toBe(2);
			expect(wrong.stderr).toContain(`modelfs: ${root} does not show org/model@${commit.slice(0, 12)}`);
		});
	});
});
