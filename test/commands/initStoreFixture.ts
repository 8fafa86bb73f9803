import { join } from "node:path";
import { importHfCache } from "../../src/ingest/local/importHfCache.js";
import { openStore } from "../../src/store/openStore.js";
import { fixtureBytes, makeHfCache } from "../ingest/local/importFixtures.js";
import { tempDir } from "../store/storeFixtures.js";

export const C1 = "a".repeat(40);
export const C2 = "b".repeat(40);

/**
 * A store holding org/llama (two commits, main -> C2) and a dataset, built
 * in-process (faster than spawning the CLI), closed so the CLI can take the lock.
 */
export async function storeWithModels(): Promise<{ store: string; weights: Buffer; cache: string }> {
	const dir = tempDir();
	const weights = fixtureBytes(1 << 20, 11);
	makeHfCache(join(dir, "cache"), [
		{
			name: "org/llama",
			commits: [
				{
					commit: C1,
					files: [
						{ path: "config.json", content: "{}" },
						{ path: "model.safetensors", content: weights, lfs: true },
					],
				},
				{
					commit: C2,
					files: [
						{ path: "config.json", content: '{"v":2}' },
						{ path: "model.safetensors", content: weights, lfs: true },
					],
				},
			],
			refs: { main: C2 },
		},
		{ type: "dataset", name: "org/data", commits: [{ commit: C1, files: [{ path: "train.jsonl", content: "{}\n" }] }], refs: { main: C1 } },
	]);
	const storeDir = join(dir, "store");
	const store = await openStore({ storeDir, create: true });
	await importHfCache({ store, paths: [join(dir, "cache")] });
	await store.close();
	return { store: storeDir, weights, cache: join(dir, "cache") };
}
