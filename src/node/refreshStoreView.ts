import { writeFile } from "node:fs/promises";
import type { ModelfsMount } from "../mount/MountTypes.js";
import { readMountStats } from "../mount/readMountStats.js";
import { type RefreshedMount, refreshMount } from "../mount/refreshMount.js";
import { readCatalog } from "../store/catalog/readCatalog.js";
import { republishIfBehind } from "../store/catalog/republishIfBehind.js";
import type { Catalog } from "../store/StoreTypes.js";
import { buildViewTree, type ViewLayout } from "../view/buildViewTree.js";

export interface RefreshStoreViewParams {
	/** A live modelfs view (listModelfsMounts), mounted by `modelfs mount` or `up`. */
	mount: ModelfsMount;
	/** Switch even when the view shows the store's newest catalog already. @default false */
	force?: boolean;
	/**
	 * After switching, drop the kernel's unused dentries (`echo 2 >
	 * /proc/sys/vm/drop_caches`): the only way, on this kernel, for a name
	 * that an overlay looked up while it was missing to appear through it
	 * (README, "Refresh"). Costs every process on the node a few re-lookups.
	 * @default false
	 */
	dropCaches?: boolean;
	/** One-line notes for stderr. @default none */
	log?: (line: string) => void;
}

export interface RefreshedStoreView {
	mountpoint: string;
	/** It switched (false: it showed the newest catalog already). */
	refreshed: boolean;
	/** Catalog generation shown before, and now. */
	from: number | null;
	to: number | null;
	/** The daemon's account, when it switched. */
	result: RefreshedMount | null;
	/** Dentries were dropped (dropCaches), and how long that took. */
	droppedCaches: boolean;
	dropSeconds: number;
}

/**
 * `modelfs refresh` for one view: builds its tree from the store's newest
 * catalog with the layout it was mounted with (mount.json) and switches the
 * live connection to it in place; no view or overlay is unmounted, so
 * running backends, in containers too, see the new models.
 */
export async function refreshStoreView(params: RefreshStoreViewParams): Promise<RefreshedStoreView> {
	const { mount } = params;
	const record = mount.record;
	if (record === null) throw new TypeError(`refreshStoreView: ${mount.mountpoint} has no mount.json`);
	const stats = await readMountStats({ runtimeDir: mount.runtimeDir }).catch(() => null);
	const shown = stats !== null && stats.imageId !== "0000000000000000" ? stats.generation : (record.catalogGeneration ?? 0);
	await republishIfBehind({ storeDir: record.storeDir });
	let catalog: Catalog | null = await readCatalog({ storeDir: record.storeDir });
	if (catalog === null) catalog = { format: 1, generation: 0, createdAt: new Date().toISOString(), repos: [] };
	const none = { mountpoint: mount.mountpoint, from: shown, to: shown, result: null, droppedCaches: false, dropSeconds: 0 };
	if (catalog.generation <= shown && params.force !== true) return { ...none, refreshed: false };
	const v = record.view;
	const repos = Array.isArray(v.repos) && v.repos.length > 0 ? (v.repos as string[]) : undefined;
	const tree = buildViewTree({
		catalog,
		layout: (typeof v.layout === "string" ? v.layout : "hf") as ViewLayout,
		prefix: typeof v.prefix === "string" ? v.prefix : "",
		files: v.files === true,
		template: typeof v.template === "string" ? v.template : undefined,
		repos,
		prefetch: Array.isArray(v.prefetch) ? v.prefetch.filter((x): x is string => typeof x === "string") : false,
	});
	const result = await refreshMount({ runtimeDir: mount.runtimeDir, tree, catalogGeneration: catalog.generation });
	params.log?.(
		`view ${mount.mountpoint}: catalog ${shown} -> ${catalog.generation} in ${result.seconds.toFixed(3)} s (${result.added} names added, ${result.removed} removed, ${result.changed} files changed)`,
	);
	let dropSeconds = 0;
	if (params.dropCaches === true) {
		const t0 = process.hrtime.bigint();
		await writeFile("/proc/sys/vm/drop_caches", "2\n");
		dropSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
	}
	return { mountpoint: mount.mountpoint, refreshed: true, from: shown, to: catalog.generation, result, droppedCaches: params.dropCaches === true, dropSeconds };
}
