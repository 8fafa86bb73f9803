import { mkdir } from "node:fs/promises";
import type { ViewConfig } from "../config/ModelfsConfig.js";
import { listModelfsMounts } from "../mount/listModelfsMounts.js";
import { mountStoreView } from "./mountStoreView.js";

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
	await mkdir(view.mountpoint, { recursive: true });
	const mounted = await mountStoreView({
		storeDir,
		mountpoint: view.mountpoint,
		name: view.name,
		layout: view.layout,
		prefix: view.prefix,
		files: view.files,
		template: view.template,
		repos: view.repos,
		prefetch: view.prefetch,
		runRoot: params.runRoot,
		log: params.log,
	});
	return {
		name: view.name,
		mountpoint: mounted.mount.mountpoint,
		alreadyMounted: false,
		files: mounted.mount.image.files,
		bytes: mounted.mount.image.fileBytes,
		generation: mounted.generation,
	};
}
