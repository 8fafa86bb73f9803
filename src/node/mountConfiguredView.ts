import { mkdir } from "node:fs/promises";
import type { ViewConfig } from "../config/ModelfsConfig.js";
import { listModelfsMounts } from "../mount/listModelfsMounts.js";
import { startMount } from "../mount/startMount.js";
import { readCatalog } from "../store/catalog/readCatalog.js";
import type { Catalog } from "../store/StoreTypes.js";
import { buildViewTree } from "../view/buildViewTree.js";

export interface MountConfiguredViewParams {
	view: ViewConfig;
	storeDir: string;
	/** Root of the mounts' runtime folders. @default $MODELFS_RUN_DIR, else /run/modelfs */
	runRoot?: string;
	/** Progress lines for stderr. */
	log?: (line: string) => void;
}

export interface MountedView {
	name: string;
	mountpoint: string;
	/** It was already mounted and live: left as it was (a live view is never swapped under its overlays). */
	alreadyMounted: boolean;
	files: number | null;
	bytes: number | null;
	generation: number | null;
}

/**
 * Mounts one configured view from the store's newest catalog, unless a live
 * modelfs view is already mounted there. A dead one (daemon gone) is
 * detached and mounted again by startMount.
 */
export async function mountConfiguredView(params: MountConfiguredViewParams): Promise<MountedView> {
	const { view, storeDir } = params;
	const existing = (await listModelfsMounts({ runRoot: params.runRoot })).filter((m) => m.mountpoint === view.mountpoint).pop();
	if (existing !== undefined && existing.state !== "dead") {
		return {
			name: view.name,
			mountpoint: view.mountpoint,
			alreadyMounted: true,
			files: existing.record?.files ?? null,
			bytes: existing.record?.fileBytes ?? null,
			generation: existing.record?.catalogGeneration ?? null,
		};
	}
	let catalog: Catalog | null = await readCatalog({ storeDir });
	if (catalog === null) {
		params.log?.(`the store ${storeDir} has no published catalog yet: view ${view.name} is empty`);
		catalog = { format: 1, generation: 0, createdAt: new Date().toISOString(), repos: [] };
	}
	const options = { layout: view.layout, prefix: view.prefix, files: view.files, template: view.template, repos: view.repos };
	const tree = buildViewTree({ catalog, ...options, repos: view.repos && view.repos.length > 0 ? view.repos : undefined });
	await mkdir(view.mountpoint, { recursive: true });
	const mounted = await startMount({
		mountpoint: view.mountpoint,
		tree,
		storeDir,
		runRoot: params.runRoot,
		view: { name: view.name, ...options },
		catalogGeneration: catalog.generation,
		log: params.log,
	});
	return { name: view.name, mountpoint: mounted.mountpoint, alreadyMounted: false, files: mounted.image.files, bytes: mounted.image.fileBytes, generation: catalog.generation };
}
