import { realpath } from "node:fs/promises";
import type { BackendConfig, ModelfsConfig, ViewConfig } from "../config/ModelfsConfig.js";
import { selectConfigured } from "../config/selectConfigured.js";
import { MountError } from "../errors.js";
import { listModelfsMounts } from "../mount/listModelfsMounts.js";
import { stopMount } from "../mount/stopMount.js";
import { listOverlayMounts } from "../overlay/listOverlayMounts.js";
import { overlayDown } from "../overlay/overlayDown.js";
import { type OverlayUpResult, overlayUp } from "../overlay/overlayUp.js";
import { readCatalog } from "../store/catalog/readCatalog.js";
import { type MountedView, mountConfiguredView } from "./mountConfiguredView.js";

export interface UpFromConfigParams {
	config: ModelfsConfig;
	/** Only these backends (and the views they read) or views. @default everything */
	only?: string[];
	/**
	 * Remount views built from an older catalog than the store's newest, so
	 * new models appear: their overlays are taken down first (they must not
	 * be busy) and put back up after. @default false
	 */
	refresh?: boolean;
	/** Root of the mounts' runtime folders. @default $MODELFS_RUN_DIR, else /run/modelfs */
	runRoot?: string;
	/** Progress lines for stderr. */
	log?: (line: string) => void;
}

export interface UpResult {
	views: MountedView[];
	/** Views remounted by `refresh` (they showed an older catalog). */
	refreshed: string[];
	backends: Array<{ name: string } & OverlayUpResult>;
	/** Backends that could not be put up (the others still were). */
	failed: Array<{ name: string; error: Error }>;
}

/**
 * `modelfs up`: mounts the views, then an overlay under each backend's
 * folder, in config order. A view that fails stops everything (its backends
 * would show an empty folder); a backend that fails is reported and the
 * others still go up, so one bad folder does not keep a node's other
 * backends from starting. Idempotent. A live view is never changed under
 * its overlays (overlayfs forbids it); `refresh` takes them down around a
 * remount instead.
 */
export async function upFromConfig(params: UpFromConfigParams): Promise<UpResult> {
	const { config } = params;
	const selected = selectConfigured({ config, only: params.only });
	const backends = [...selected.backends];
	const result: UpResult = { views: [], refreshed: [], backends: [], failed: [] };
	if (params.refresh) {
		for (const view of selected.views) {
			const users = await refreshView({ view, config, runRoot: params.runRoot, log: params.log });
			if (users === null) continue;
			result.refreshed.push(view.name);
			// Every backend on a remounted view goes back up, selected or not.
			for (const b of users) if (!backends.includes(b)) backends.push(b);
		}
	}
	const fresh = new Set<string>();
	for (const view of selected.views) {
		const mounted = await mountConfiguredView({ view, storeDir: config.store, runRoot: params.runRoot, log: params.log });
		result.views.push(mounted);
		if (!mounted.alreadyMounted) fresh.add(view.name);
	}
	for (const b of backends) {
		try {
			// An overlay found on a backend whose view was just (re)mounted stands
			// on the previous mount (a dead daemon's, detached): it must be redone.
			if (fresh.has(b.view) && (await listOverlayMounts({ target: await realpath(b.target).catch(() => b.target) })).length > 0) {
				params.log?.(`backend ${b.name}: its overlay stands on the previous mount of view ${b.view}: mounting it again`);
				await overlayDown({ target: b.target, stateDir: config.stateDir });
			}
			const r = await overlayUp({ target: b.target, create: b.create, lower: b.lower, upper: b.upper, work: b.work, stateDir: config.stateDir });
			result.backends.push({ name: b.name, ...r });
		} catch (err) {
			result.failed.push({ name: b.name, error: err as Error });
			params.log?.(`backend ${b.name}: ${(err as Error).message}`);
		}
	}
	return result;
}

/**
 * Unmounts a live view whose catalog is older than the store's, after its
 * overlays; returns the configured backends that were on it, or null when
 * the view is current (or not mounted). If an overlay cannot come down, the
 * ones already down go back up and the error is thrown: nothing half-done.
 */
async function refreshView(params: { view: ViewConfig; config: ModelfsConfig; runRoot?: string; log?: (line: string) => void }): Promise<BackendConfig[] | null> {
	const { view, config } = params;
	const mount = (await listModelfsMounts({ runRoot: params.runRoot })).filter((m) => m.mountpoint === view.mountpoint).pop();
	if (mount === undefined || mount.state === "dead") return null;
	const newest = (await readCatalog({ storeDir: config.store }))?.generation ?? 0;
	const shown = mount.record?.catalogGeneration ?? 0;
	if (shown >= newest) return null;
	const prefix = `${view.mountpoint}/`;
	const users = config.backends.filter((b) => b.view === view.name);
	const foreign = (await listOverlayMounts()).filter((o) => o.lower.some((l) => l === view.mountpoint || l.startsWith(prefix)) && !users.some((b) => b.target === o.target));
	if (foreign.length > 0) {
		throw new MountError("REFRESH_FOREIGN_OVERLAY", `cannot remount view ${view.name}: overlays not in the config stand on it (${foreign.map((o) => o.target).join(", ")})`, {
			path: view.mountpoint,
			hint: `take them down first: modelfs overlay down ${foreign[0].target}`,
		});
	}
	params.log?.(`view ${view.name} shows catalog ${shown}, the store has ${newest}: remounting it`);
	const downed: BackendConfig[] = [];
	try {
		for (const b of [...users].reverse()) {
			const r = await overlayDown({ target: b.target, stateDir: config.stateDir }).catch((err: Error & { code?: string }) => {
				if (err.code === "OVERLAY_NO_TARGET") return { wasMounted: false };
				throw err;
			});
			if (r.wasMounted) downed.push(b);
		}
		await stopMount({ mountpoint: view.mountpoint, runRoot: params.runRoot });
	} catch (err) {
		for (const b of downed.reverse())
			await overlayUp({ target: b.target, create: b.create, lower: b.lower, upper: b.upper, work: b.work, stateDir: config.stateDir }).catch(() => undefined);
		throw err;
	}
	return users;
}
