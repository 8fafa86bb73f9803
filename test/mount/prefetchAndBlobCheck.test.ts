import { closeSync, openSync, readFileSync, realpathSync, rmSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readMountStats } from "../../src/mount/readMountStats.js";
import { runtimeDirFor } from "../../src/mount/runtimeDirFor.js";
import { runPageCacheTool } from "../../src/residency/runPageCacheTool.js";
import { readCatalog } from "../../src/store/catalog/readCatalog.js";
import { blobPath } from "../../src/store/objects/blobPath.js";
import { DEFAULT_PREFETCH_PATTERNS } from "../../src/view/matchesPrefetch.js";
import { bytes, tempDir } from "../overlay/fixtures.js";
import { addRepoToStore } from "../overlay/makeStore.js";
import { mountTestView } from "../overlay/mountTestView.js";
import { canMount } from "../support/canMount.js";
import { overwriteBytes } from "../support/overwriteBytes.js";
import { runCli } from "../support/runCli.js";

const FILES = [
	{ path: "config.json", bytes: Buffer.from('{"a":1}') },
	{ path: "model-00001-of-00002.safetensors", bytes: bytes("p1", 8 << 20) },
	{ path: "model-00002-of-00002.safetensors", bytes: bytes("p2", 4 << 20) },
];

async function setup() {
	const root = realpathSync(tempDir("modelfs-prefetch-"));
	const storeDir = join(root, "store");
	const commit = await addRepoToStore({ storeDir, repo: "org/model", files: FILES });
	const catalog = (await readCatalog({ storeDir }))!;
	const blob = (path: string) => blobPath(storeDir, catalog.repos[0].snapshots[0].files.find((f) => f.path === path)!.blake3);
	const resident = async (path: string) => (await runPageCacheTool({ mode: "resident", paths: [blob(path)] }))[0].resident ?? 0;
	const snapshot = (mountpoint: string) => join(mountpoint, "models--org--model", "snapshots", commit);
	return { root, storeDir, commit, blob, resident, snapshot };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(canMount)("the daemon at open", () => {
	it("with prefetch, opening a weight file reads it into the page cache in the background; without, an open reads nothing", async () => {
		const s = await setup();
		const big = FILES[1];
		// Three tries: a bench in another checkout may drop the whole page cache meanwhile.
		const filled = async (mountpoint: string) => {
			for (let attempt = 0; attempt < 3; attempt++) {
				await runPageCacheTool({ mode: "evict", paths: [s.blob(big.path)] });
				const fd = openSync(join(s.snapshot(mountpoint), big.path), "r");
				try {
					for (let i = 0; i < 100; i++) {
						if ((await s.resident(big.path)) === big.bytes.length) return true;
						await sleep(50);
					}
				} finally {
					closeSync(fd);
				}
			}
			return false;
		};
		const on = await mountTestView({ root: join(s.root, "on"), storeDir: s.storeDir, prefetch: [...DEFAULT_PREFETCH_PATTERNS] });
		expect(await filled(on.mountpoint)).toBe(true);
		const stats = (await readMountStats({ runtimeDir: runtimeDirFor({ mountpoint: on.mountpoint, runRoot: on.runRoot }) }))!;
		expect(stats.prefetches).toBeGreaterThanOrEqual(1);
		expect(stats.prefetchBytes + stats.prefetchResidentBytes).toBeGreaterThanOrEqual(big.bytes.length);
		// The file nobody opened was not read ahead.
		await runPageCacheTool({ mode: "evict", paths: [s.blob(FILES[2].path)] });
		await sleep(300);
		expect(await s.resident(FILES[2].path)).toBe(0);

		const off = await mountTestView({ root: join(s.root, "off"), storeDir: s.storeDir });
		await runPageCacheTool({ mode: "evict", paths: [s.blob(big.path)] });
		const fd = openSync(join(s.snapshot(off.mountpoint), big.path), "r");
		try {
			await sleep(500);
			expect(await s.resident(big.path)).toBe(0);
		} finally {
			closeSync(fd);
		}
		const offStats = (await readMountStats({ runtimeDir: runtimeDirFor({ mountpoint: off.mountpoint, runRoot: off.runRoot }) }))!;
		expect(offStats.prefetches).toBe(0);
	});

	for (const passthrough of [true, false]) {
		it(`${passthrough ? "passthrough" : "daemon-served reads"}: a blob truncated under the live view answers EIO for that file only, is counted, found by verify --repair and healed by importing it again, without a remount`, async () => {
			const s = await setup();
			const view = await mountTestView({ root: s.root, storeDir: s.storeDir, passthrough });
			const dir = s.snapshot(view.mountpoint);
			const hurt = FILES[1];
			expect(readFileSync(join(dir, hurt.path)).equals(hurt.bytes)).toBe(true);
			truncateSync(s.blob(hurt.path), 1 << 20);

			// stat still shows the view's size; the open refuses instead of serving a short file.
			expect(statSync(join(dir, hurt.path)).size).toBe(hurt.bytes.length);
			expect(() => readFileSync(join(dir, hurt.path))).toThrow(expect.objectContaining({ code: "EIO" }));
			expect(readFileSync(join(dir, FILES[2].path)).equals(FILES[2].bytes)).toBe(true);
			expect(readFileSync(join(dir, "config.json")).equals(FILES[0].bytes)).toBe(true);
			const stats = (await readMountStats({ runtimeDir: runtimeDirFor({ mountpoint: view.mountpoint, runRoot: view.runRoot }) }))!;
			expect(stats.blobErrors).toBeGreaterThanOrEqual(1);
			const log = readFileSync(join(runtimeDirFor({ mountpoint: view.mountpoint, runRoot: view.runRoot }), "daemon.log"), "utf8");
			expect(log).toContain(`path=/models--org--model/`);
			expect(log).toMatch(/has 1048576 bytes, the view shows 8388608: answering EIO/);

			const verify = await runCli(["verify", "--repair", "--store", s.storeDir]);
			expect(verify.code).not.toBe(0);
			expect(verify.stdout + verify.stderr).toContain("quarantined");

			await addRepoToStore({ storeDir: s.storeDir, repo: "org/model", files: FILES });
			// Dropped from the view's page cache, so the read reaches the daemon, which kept an fd of the
			// truncated file from the first open: the open after the heal must point it at the new blob.
			await runPageCacheTool({ mode: "evict", paths: [join(dir, hurt.path)] });
			expect(readFileSync(join(dir, hurt.path)).equals(hurt.bytes)).toBe(true);
		});
	}
	for (const passthrough of [true, false]) {
		it(`${passthrough ? "passthrough" : "daemon-served reads"}: a blob deleted under the live view answers EIO for that file only, is counted, found by verify --repair and healed by importing it again`, async () => {
			const s = await setup();
			const view = await mountTestView({ root: s.root, storeDir: s.storeDir, passthrough });
			const dir = s.snapshot(view.mountpoint);
			const hurt = FILES[2];
			rmSync(s.blob(hurt.path));
			expect(statSync(join(dir, hurt.path)).size).toBe(hurt.bytes.length);
			expect(() => readFileSync(join(dir, hurt.path))).toThrow(expect.objectContaining({ code: "EIO" }));
			expect(readFileSync(join(dir, FILES[1].path)).equals(FILES[1].bytes)).toBe(true);
			const stats = (await readMountStats({ runtimeDir: runtimeDirFor({ mountpoint: view.mountpoint, runRoot: view.runRoot }) }))!;
			expect(stats.blobErrors).toBeGreaterThanOrEqual(1);
			const verify = await runCli(["verify", "--repair", "--store", s.storeDir]);
			expect(verify.code).not.toBe(0);
			expect(verify.stdout + verify.stderr).toMatch(/missing/);
			await addRepoToStore({ storeDir: s.storeDir, repo: "org/model", files: FILES });
			expect(readFileSync(join(dir, hurt.path)).equals(hurt.bytes)).toBe(true);
		});
	}

	it("passthrough: bytes flipped in place are served until verify finds them; --repair quarantines the blob and a re-import heals it, without a remount", async () => {
		const s = await setup();
		const view = await mountTestView({ root: s.root, storeDir: s.storeDir, passthrough: true });
		const dir = s.snapshot(view.mountpoint);
		const hurt = FILES[2];
		overwriteBytes(s.blob(hurt.path), 4096, Buffer.from("flipped!"));
		// Content is not checked at read time (README says so): the damaged bytes are served, at the right size.
		const served = readFileSync(join(dir, hurt.path));
		expect(served.length).toBe(hurt.bytes.length);
		expect(served.equals(hurt.bytes)).toBe(false);
		// The write changed the blob's mtime, so even a plain verify hashes it again.
		const found = await runCli(["verify", "--store", s.storeDir]);
		expect(found.code).toBe(4);
		const repair = await runCli(["verify", "--repair", "--store", s.storeDir]);
		expect(repair.code).toBe(4);
		expect(repair.stdout + repair.stderr).toContain("quarantined");
		await addRepoToStore({ storeDir: s.storeDir, repo: "org/model", files: FILES });
		expect(readFileSync(join(dir, hurt.path)).equals(hurt.bytes)).toBe(true);
	});
});
