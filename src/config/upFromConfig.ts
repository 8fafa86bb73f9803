import { overlayUp, type OverlayUpResult } from "../overlay/overlayUp.js";
import type { ModelfsConfig } from "./ModelfsConfig.js";
import { mountConfiguredView, type MountedView } from "./mountConfiguredView.js";
import { selectConfigured } from "./selectConfigured.js";

export interface UpFromConfigParams {
	config: ModelfsConfig;
	/** Only these backends (and the views they read) or views. @default everything */
	only?: string[];
	/** Root of the mounts' runtime folders. @default $MODELFS_RUN_DIR, else /run/modelfs */
	runRoot?: string;
	/** Progress lines for stderr. */
	log?: (line: string) => void;
}

export interface UpResult {
	views: MountedView[];
	backends: Array<{ name: string } & OverlayUpResult>;
	/** Backends that could not be put up (the others still were). */
	failed: Array<{ name: string; error: Error }>;
}

/**
 * `modelfs up`: mounts the views, then an overlay under each backend's
 * folder, in config order. A view that fails stops everything (its backends
 * would show an empty folder); a backend that fails is reported and the
 * others still go up, so one bad folder does not keep a node's other
 * backends from starting. Idempotent.
 */
export async function upFromConfig(params: UpFromConfigParams): Promise<UpResult> {
	const { config } = params;
	const selected = selectConfigured({ config, only: params.only });
	const result: UpResult = { views: [], backends: [], failed: [] };
	for (const view of selected.views) {
		result.views.push(await mountConfiguredView({ view, storeDir: config.store, runRoot: params.runRoot, log: params.log }));
	}
	for (const b of selected.backends) {
		try {
			const r = await overlayUp({ target: b.target, lower: b.lower, upper: b.upper, work: b.work, stateDir: config.stateDir });
			result.backends.push({ name: b.name, ...r });
		} catch (err) {
			result.failed.push({ name: b.name, error: err as Error });
			params.log?.(`backend ${b.name}: ${(err as Error).message}`);
		}
	}
	return result;
}

