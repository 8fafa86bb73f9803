import { resolve } from "node:path";
import type { ModelfsConfig } from "../config/ModelfsConfig.js";
import { selectConfigured } from "../config/selectConfigured.js";
import { listModelfsMounts } from "../mount/listModelfsMounts.js";
import { stopMount } from "../mount/stopMount.js";
import { listOverlayMounts } from "../overlay/listOverlayMounts.js";
import { type OverlayDownResult, overlayDown } from "../overlay/overlayDown.js";
import type { MountNamespaceUse } from "../system/findMountUsers.js";

export interface DownFromConfigParams {
	config: ModelfsConfig;
	/** Only these backends or views. @default everything */
	only?: string[];
	/** Put each backend's upper files back as plain files. @default false */
	restore?: boolean;
	/**
	 * Roll back to folders that work without modelfs: copy what each
	 * backend folder shows from its view into it as real files (then restore).
	 * @default false
	 */
	materialize?: boolean;
	/** With materialize: the bytes to copy, then the bytes of each file copied. */
	onTotal?: (bytes: number) => void;
	onProgress?: (bytes: number) => void;
	/** Root of the mounts' runtime folders. @default $MODELFS_RUN_DIR, else /run/modelfs */
	runRoot?: string;
	/** Progress lines for stderr. */
	log?: (line: string) => void;
}

export interface DownResult {
	/**
	 * Each backend; `otherNamespaces`: running containers that still have
	 * their own copy of its overlay (it is gone from here; they keep reading).
	 */
	backends: Array<{ name: string } & OverlayDownResult>;
	/** Views unmounted. */
	views: string[];
	/** Views unmounted here whose daemon keeps serving other mount namespaces until they let go. */
	stillServing: Array<{ name: string; pids: number[]; otherNamespaces: MountNamespaceUse[] }>;
	/** Views left mounted because an overlay (of a backend not selected) still stands on them. */
	keptViews: string[];
}

/**
 * `modelfs down`: overlays first, then the views no overlay stands on any
 * more (an overlay keeps its lower busy). Idempotent. Copies of the mounts
 * in other mount namespaces (running containers) are not ours to end: they
 * are detached here, reported, and the daemon serves them until they let
 * go.
 */
export async function downFromConfig(params: DownFromConfigParams): Promise<DownResult> {
	const { config } = params;
	const selected = selectConfigured({ config, only: params.only });
	const result: DownResult = { backends: [], views: [], keptViews: [], stillServing: [] };
	for (const b of [...selected.backends].reverse()) {
		const r: OverlayDownResult = await overlayDown({
			target: b.target,
			restore: params.restore,
			materialize: params.materialize,
			// The views are still mounted here (they come down after the overlays).
			storeDir: config.store,
			stateDir: config.stateDir,
			onTotal: params.onTotal,
			onProgress: params.onProgress,
		}).catch((err: Error & { code?: string }) => {
			// A target folder that was never created has nothing mounted on it.
			if (err.code === "OVERLAY_NO_TARGET") return { target: b.target, wasMounted: false, restored: null, upper: null, otherNamespaces: [] };
			throw err;
		});
		result.backends.push({ name: b.name, ...r });
		const others = r.otherNamespaces;
		if (others.length > 0) {
			params.log?.(
				`backend ${b.name}: its overlay is gone from here; pids ${others.flatMap((n) => n.pids).join(", ")} in other mount namespaces (running containers) keep their own copy and keep reading`,
			);
		}
	}
	const overlays = await listOverlayMounts();
	const mounted = await listModelfsMounts({ runRoot: params.runRoot });
	for (const view of [...selected.views].reverse()) {
		if (!mounted.some((m) => m.mountpoint === view.mountpoint)) continue;
		const prefix = `${resolve(view.mountpoint)}/`;
		if (overlays.some((o) => o.lower.some((l) => l === view.mountpoint || l.startsWith(prefix)))) {
			result.keptViews.push(view.name);
			params.log?.(`view ${view.name} stays mounted: an overlay still uses it`);
			continue;
		}
		const stopped = await stopMount({ mountpoint: view.mountpoint, runRoot: params.runRoot });
		result.views.push(view.name);
		if (stopped.otherNamespaces.length > 0) {
			result.stillServing.push({ name: view.name, pids: stopped.stillRunning, otherNamespaces: stopped.otherNamespaces });
		}
	}
	return result;
}
