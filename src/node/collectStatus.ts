import { realpath } from "node:fs/promises";
import { resolve } from "node:path";
import type { ModelfsConfig } from "../config/ModelfsConfig.js";
import { listModelfsMounts } from "../mount/listModelfsMounts.js";
import { readMountStats } from "../mount/readMountStats.js";
import { listOverlayMounts } from "../overlay/listOverlayMounts.js";
import { measureDir } from "../overlay/measureDir.js";
import { overlayStateDir } from "../overlay/overlayStateDir.js";
import { readOverlayState } from "../overlay/readOverlayState.js";
import { readCatalog } from "../store/catalog/readCatalog.js";

export interface CollectStatusParams {
	/** The config, or null to show only what is mounted. */
	config: ModelfsConfig | null;
	/** Root of the mounts' runtime folders. @default $MODELFS_RUN_DIR, else /run/modelfs */
	runRoot?: string;
}

export interface ViewStatus {
	/** Config name, or null for a view mounted outside the config. */
	name: string | null;
	mountpoint: string;
	mounted: boolean;
	/** `live`, `dead` (daemon gone: ENOTCONN), `unknown`, or `absent` when not mounted. */
	state: "live" | "degraded" | "parked" | "dead" | "unknown" | "absent";
	layout: string | null;
	files: number | null;
	bytes: number | null;
	catalogGeneration: number | null;
	/** Built from an older catalog than the store's newest: `modelfs up --refresh` shows the new models. */
	stale: boolean;
	/** The daemon's counters, when its stats file is readable. */
	counters: {
		passthrough: boolean;
		opens: number;
		passthroughOpens: number;
		fallbackReads: number;
		fallbackBytes: number;
		blobErrors: number;
		requests: number;
		errors: number;
		daemonStarts: number;
	} | null;
}

export interface BackendStatus {
	/** Config name, or null for an overlay on a modelfs view that is not in the config. */
	name: string | null;
	target: string;
	mounted: boolean;
	lower: string | null;
	upper: string | null;
	/** Files the view shows through this backend (the view's file count). */
	filesServed: number | null;
	/** Files and disk use of the upper layer: what this node keeps locally. */
	upperFiles: number | null;
	upperBytes: number | null;
	/** Folders of the upper layer this user could not read (run as root for the whole figure). */
	upperUnreadable: string[];
}

export interface Status {
	/** Generation of the store's newest catalog (config given and store readable), else null. */
	storeGeneration: number | null;
	views: ViewStatus[];
	backends: BackendStatus[];
}

/**
 * What `modelfs status` shows: every configured view and backend (mounted
 * or not) plus modelfs views and overlays on them found mounted outside the
 * config. Reads mountinfo, runtime and state files only; never stats the
 * mountpoints, so a dead mount cannot hang it.
 */
export async function collectStatus(params: CollectStatusParams): Promise<Status> {
	const { config } = params;
	const views = await listModelfsMounts({ runRoot: params.runRoot });
	const overlays = await listOverlayMounts();
	const storeGeneration =
		config === null
			? null
			: await readCatalog({ storeDir: config.store }).then(
					(c) => c?.generation ?? 0,
					() => null,
				);
	const status: Status = { storeGeneration, views: [], backends: [] };
	const seenViews = new Set<string>();
	const viewStatus = async (name: string | null, mountpoint: string): Promise<ViewStatus> => {
		const m = views.filter((v) => v.mountpoint === mountpoint).pop();
		seenViews.add(mountpoint);
		if (m === undefined)
			return { name, mountpoint, mounted: false, state: "absent", layout: null, files: null, bytes: null, catalogGeneration: null, stale: false, counters: null };
		const stats = await readMountStats({ runtimeDir: m.runtimeDir }).catch(() => null);
		const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
		return {
			name,
			mountpoint,
			mounted: true,
			state: m.state,
			layout: typeof m.record?.view?.layout === "string" ? (m.record.view.layout as string) : null,
			files: m.record?.files ?? null,
			bytes: m.record?.fileBytes ?? null,
			catalogGeneration: m.record?.catalogGeneration ?? null,
			stale: name !== null && storeGeneration !== null && (m.record?.catalogGeneration ?? 0) < storeGeneration,
			counters:
				stats === null
					? null
					: {
							passthrough: stats.passthrough,
							opens: stats.opens,
							passthroughOpens: stats.passthroughOpens,
							fallbackReads: stats.fallbackReads,
							fallbackBytes: stats.fallbackBytes,
							blobErrors: stats.blobErrors,
							requests: sum(stats.requests),
							errors: sum(stats.errors),
							daemonStarts: stats.daemonStarts,
						},
		};
	};
	for (const v of config?.views ?? []) status.views.push(await viewStatus(v.name, v.mountpoint));
	for (const v of views) if (!seenViews.has(v.mountpoint)) status.views.push(await viewStatus(null, v.mountpoint));

	const viewOf = (lower: string | null) => status.views.find((v) => lower !== null && (lower === v.mountpoint || lower.startsWith(`${resolve(v.mountpoint)}/`)));
	const backendStatus = async (name: string | null, configured: string): Promise<BackendStatus> => {
		// mountinfo and the state folder's name use the real path.
		const target = await realpath(configured).catch(() => configured);
		const o = overlays.filter((x) => x.target === target).pop();
		const state = o === undefined && config !== null ? await readOverlayState({ dir: overlayStateDir({ target, stateDir: config.stateDir }) }).catch(() => null) : null;
		const lower = o?.lower[0] ?? state?.lower ?? null;
		const upper = o?.upper ?? state?.upper ?? null;
		const measure = upper === null ? null : await measureDir({ dir: upper });
		return {
			name,
			target,
			mounted: o !== undefined,
			lower,
			upper,
			filesServed: o === undefined ? null : (viewOf(lower)?.files ?? null),
			upperFiles: measure?.files ?? null,
			upperBytes: measure?.bytes ?? null,
			upperUnreadable: measure?.unreadable ?? [],
		};
	};
	for (const b of config?.backends ?? []) status.backends.push(await backendStatus(b.name, b.target));
	for (const o of overlays) {
		if (status.backends.some((b) => b.target === o.target)) continue;
		if (viewOf(o.lower[0] ?? null) === undefined) continue;
		status.backends.push(await backendStatus(null, o.target));
	}
	return status;
}
