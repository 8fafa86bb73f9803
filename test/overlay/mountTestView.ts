import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import { listModelfsMounts } from "../../src/mount/listModelfsMounts.js";
import { startMount } from "../../src/mount/startMount.js";
import { stopMount } from "../../src/mount/stopMount.js";
import { readCatalog } from "../../src/store/catalog/readCatalog.js";
import { type BuildViewTreeParams, buildViewTree } from "../../src/view/buildViewTree.js";

/**
 * Mounts the real FUSE view of a store (the native daemon) at <root>/view,
 * runtime files under <root>/run; unmounted when the test ends. Register
 * overlays on it AFTER calling this, so they are taken down first.
 */
export async function mountTestView(
	params: { root: string; storeDir: string; passthrough?: boolean } & Partial<Omit<BuildViewTreeParams, "catalog">>,
): Promise<{ mountpoint: string; runRoot: string }> {
	const catalog = await readCatalog({ storeDir: params.storeDir });
	if (catalog === null) throw new Error("mountTestView: the store has no catalog");
	const tree = buildViewTree({
		catalog,
		layout: params.layout ?? "hf",
		prefix: params.prefix,
		files: params.files,
		template: params.template,
		repos: params.repos,
		prefetch: params.prefetch,
	});
	const mountpoint = join(params.root, "view");
	const runRoot = join(params.root, "run");
	mkdirSync(mountpoint, { recursive: true });
	// The layout is recorded as `modelfs mount` records it, so an in-place refresh rebuilds the same view.
	const view = {
		layout: params.layout ?? "hf",
		prefix: params.prefix ?? "",
		files: params.files === true,
		template: params.template,
		repos: params.repos ?? [],
		prefetch: params.prefetch === false || params.prefetch === undefined ? [] : [...params.prefetch],
	};
	await startMount({ mountpoint, tree, storeDir: params.storeDir, runRoot, view, passthrough: params.passthrough, catalogGeneration: catalog.generation });
	onTestFinished(async () => {
		// A test may have unmounted it itself.
		if ((await listModelfsMounts({ runRoot })).some((m) => m.mountpoint === mountpoint)) await stopMount({ mountpoint, runRoot, lazy: true });
	});
	return { mountpoint, runRoot };
}
