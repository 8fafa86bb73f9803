import { existsSync, mkdirSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listCatalogGenerations } from "../../src/store/catalog/listCatalogGenerations.js";
import { indexTransaction } from "../../src/store/index/indexTransaction.js";
import { openStore } from "../../src/store/openStore.js";
import { bytes, tempDir } from "../overlay/fixtures.js";
import { addRepoToStore } from "../overlay/makeStore.js";
import { mountTestView } from "../overlay/mountTestView.js";
import { canMount } from "../support/canMount.js";
import { runCli } from "../support/runCli.js";

/**
 * What a writer killed after its index commit and before its catalog write
 * leaves: a snapshot (and a generation) in the index that no catalog has.
 * Made here by hand, the index transaction without the publish after it.
 */
async function commitWithoutCatalog(storeDir: string, repo: string, commit: string): Promise<void> {
	const store = await openStore({ storeDir, write: true });
	try {
		const index = store.index!;
		const files = [...index.snapshots.getRange({})][0].value.files;
		await indexTransaction({
			store,
			label: `${repo}@${commit}`,
			body: () => {
				index.repos.put(["model", repo], { refs: { main: commit } });
				index.snapshots.put(["model", repo, commit], { files, createdAt: Date.now() });
				index.meta.put("generation", index.generation() + 1);
			},
		});
		await index.env.flushed;
	} finally {
		await store.close();
	}
}

describe.runIf(canMount)("a writer killed between its index commit and its catalog write", () => {
	it("the next mount on the writer's host shows the finished snapshot: it republishes the catalog first", async () => {
		const root = realpathSync(tempDir("modelfs-behind-"));
		const storeDir = join(root, "store");
		await addRepoToStore({ storeDir, repo: "org/first", files: [{ path: "config.json", bytes: bytes("first", 100) }] });
		const before = (await listCatalogGenerations(storeDir))[0];
		await commitWithoutCatalog(storeDir, "org/late", "a".repeat(40));
		expect((await listCatalogGenerations(storeDir))[0]).toBe(before);

		const mnt = join(root, "view");
		mkdirSync(mnt);
		const r = await runCli(["mount", mnt, "--store", storeDir, "--json"], { env: { MODELFS_RUN_DIR: join(root, "run") } });
		expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
		try {
			expect(existsSync(join(mnt, "models--org--late", "snapshots", "a".repeat(40), "config.json"))).toBe(true);
			expect(readFileSync(join(mnt, "models--org--late", "refs", "main"), "utf8")).toBe("a".repeat(40));
			expect((await listCatalogGenerations(storeDir))[0]).toBe(before + 1);
		} finally {
			await runCli(["umount", mnt], { env: { MODELFS_RUN_DIR: join(root, "run") } });
		}
	});

	it("a refresh of a live view does the same", async () => {
		const root = realpathSync(tempDir("modelfs-behind-refresh-"));
		const storeDir = join(root, "store");
		await addRepoToStore({ storeDir, repo: "org/first", files: [{ path: "config.json", bytes: bytes("first", 100) }] });
		const { mountpoint, runRoot } = await mountTestView({ root, storeDir });
		await commitWithoutCatalog(storeDir, "org/late", "b".repeat(40));
		expect(existsSync(join(mountpoint, "models--org--late"))).toBe(false);
		const r = await runCli(["refresh", mountpoint], { env: { MODELFS_RUN_DIR: runRoot } });
		expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
		expect(existsSync(join(mountpoint, "models--org--late", "snapshots", "b".repeat(40), "config.json"))).toBe(true);
	});
});
