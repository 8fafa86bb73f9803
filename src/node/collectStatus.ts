import { readFile, realpath } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { ModelfsConfig } from "../config/ModelfsConfig.js";
import { listInstanceDirs } from "../mount/listInstanceDirs.js";
import { listModelfsMounts } from "../mount/listModelfsMounts.js";
import type { MountRecord } from "../mount/MountTypes.js";
import { type ProbeResult, probeView } from "../mount/probeView.js";
import { readMountStats } from "../mount/readMountStats.js";
import { listOverlayMounts } from "../overlay/listOverlayMounts.js";
import { type HiddenEntry, listWhiteouts } from "../overlay/listWhiteouts.js";
import { measureDir } from "../overlay/measureDir.js";
import { overlayStateDir } from "../overlay/overlayStateDir.js";
import { readOverlayState } from "../overlay/readOverlayState.js";
import { readCatalog } from "../store/catalog/readCatalog.js";
import { findMountUsers, type MountNamespaceUse } from "../system/findMountUsers.js";
import { isProcessAlive } from "../system/isProcessAlive.js";
import { readMountinfo } from "../system/readMountinfo.js";

export interface CollectStatusParams {
	/** The config, or null to show only what is mounted. */
	config: ModelfsConfig | null;
	/** Root of the mounts' runtime folders. @default $MODELFS_RUN_DIR, else /run/modelfs */
	runRoot?: string;
	/** How long a view or overlay may take to answer a fresh lookup. @default 2000 */
	probeTimeoutMs?: number;
}

export interface ProcessStatus {
	pid: number | null;
	alive: boolean;
	/** `modelfs-fused` version, from the stats file ("" from an older daemon), or null. */
	version: string | null;
	startedAt: string | null;
}

export interface ViewStatus {
	/** Config name, or null for a view mounted outside the config. */
	name: string | null;
	mountpoint: string;
	mounted: boolean;
	/**
	 * `live`: holder and daemon run and a fresh lookup answers; `degraded`:
	 * it answers but one of the two is gone (being replaced); `parked`: no
	 * process of ours holds it, an fd store may (`modelfs up` takes it
	 * back); `hung`: a lookup does not answer; `dead`: ENOTCONN (every
	 * process holding its fds is gone); `unknown`: no runtime folder for it;
	 * `absent`: not mounted.
	 */
	state: "live" | "degraded" | "parked" | "hung" | "dead" | "unknown" | "absent";
	holder: ProcessStatus;
	daemon: ProcessStatus;
	/** Daemons and holders that took over since the mount (crashes and planned restarts). */
	restarts: { daemon: number; holder: number };
	/** When the view was mounted. */
	startedAt: string | null;
	/** A fresh lookup (of a name that cannot exist), with a timeout. */
	answers: ProbeResult | null;
	layout: string | null;
	files: number | null;
	bytes: number | null;
	/** Catalog generation the daemon serves (its stats file; else mount.json). */
	catalogGeneration: number | null;
	/** Generation of the store's newest catalog, when readable. */
	storeGeneration: number | null;
	/** Shows an older catalog than the store's newest: `modelfs refresh` (or `up`) shows the new models in place. */
	stale: boolean;
	/** When the store's newest catalog was published (for --max-age). */
	storeCatalogAt: string | null;
	lastRefreshAt: string | null;
	/** The fds are parked in an fd store (systemd's, or a keeper). */
	parked: boolean;
	runtimeDir: string | null;
	/** Other mount namespaces (running containers) holding a copy of this view. */
	otherNamespaces: MountNamespaceUse[];
	/** The daemon's counters, when its stats file is readable. */
	counters: {
		passthrough: boolean;
		opens: number;
		passthroughOpens: number;
		fallbackReads: number;
		fallbackBytes: number;
		blobErrors: number;
		backingIdsOpen: number;
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
	/** The view its lower lies in (mountpoint), or null. */
	view: string | null;
	/**
	 * What its overlay stands on: `live` (a fresh lookup through it reaches
	 * a live view), `replaced` (a dead mount of a view that has been
	 * mounted again since: the overlay must be redone), `dead` (ENOTCONN),
	 * `hung` (no answer), `none` (not mounted), `unknown`.
	 */
	standsOn: "live" | "replaced" | "dead" | "hung" | "none" | "unknown";
	answers: ProbeResult | null;
	/** Other mount namespaces (running containers) holding a copy of this overlay. */
	otherNamespaces: MountNamespaceUse[];
	/** Files the view shows through this backend (the view's file count). */
	filesServed: number | null;
	/** Files and disk use of the upper layer: what this node keeps locally. */
	upperFiles: number | null;
	upperBytes: number | null;
	/** Folders of the upper layer this user could not read (run as root for the whole figure). */
	upperUnreadable: string[];
	/**
	 * View entries the upper layer hides (a delete through the overlay, e.g.
	 * `hf cache rm`): `modelfs overlay unhide <target>` shows them again.
	 * Null when the upper layer or the view could not be read.
	 */
	hidden: HiddenEntry[] | null;
}

/** A mount instance no longer mounted here that other namespaces still use (a container's copy). */
export interface DetachedViewStatus {
	mountpoint: string | null;
	runtimeDir: string;
	majorMinor: string;
	holder: ProcessStatus;
	daemon: ProcessStatus;
	otherNamespaces: MountNamespaceUse[];
}

export interface Status {
	/** Generation of the store's newest catalog (config given and store readable), else null. */
	storeGeneration: number | null;
	views: ViewStatus[];
	backends: BackendStatus[];
	/** Views unmounted here (or replaced) whose daemon still serves containers. */
	detachedViews: DetachedViewStatus[];
}

/**
 * What `modelfs status` shows: every configured view and backend (mounted
 * or not) plus modelfs views and overlays on them found mounted outside the
 * config, and detached views that containers still use. A view's state
 * comes from its processes and from a fresh lookup made in a child that is
 * killed after a timeout, so a dead or hung mount can never hang it.
 */
export async function collectStatus(params: CollectStatusParams): Promise<Status> {
	const { config } = params;
	const timeoutMs = params.probeTimeoutMs ?? 2000;
	const views = await listModelfsMounts({ runRoot: params.runRoot });
	const overlays = await listOverlayMounts();
	const mountinfo = await readMountinfo();
	const newest = config === null ? null : await readCatalog({ storeDir: config.store }).catch(() => null);
	const storeGeneration = config === null ? null : (newest?.generation ?? 0);
	// Who else holds our views and overlays: one scan of /proc for all of them.
	const instances = await listInstanceDirs({ runRoot: params.runRoot });
	const devices = new Set<string>([...views.map((v) => v.majorMinor), ...mountinfo.filter((m) => m.fstype === "overlay").map((m) => m.majorMinor)]);
	for (const i of instances) if (i.majorMinor && i.majorMinor !== "0:0") devices.add(i.majorMinor);
	const users = await findMountUsers({ devices: [...devices] }).catch(() => ({ namespaces: [] as MountNamespaceUse[] }));
	const heldBy = (dev: string) => users.namespaces.filter((n) => n.devices.includes(dev)).map((n) => ({ ...n, devices: [dev] }));

	const status: Status = { storeGeneration, views: [], backends: [], detachedViews: [] };
	const seenViews = new Set<string>();
	const viewStatus = async (name: string | null, mountpoint: string): Promise<ViewStatus> => {
		const m = views.filter((v) => v.mountpoint === mountpoint).pop();
		seenViews.add(mountpoint);
		const none: ProcessStatus = { pid: null, alive: false, version: null, startedAt: null };
		if (m === undefined) {
			return {
				name,
				mountpoint,
				mounted: false,
				state: "absent",
				holder: none,
				daemon: none,
				restarts: { daemon: 0, holder: 0 },
				startedAt: null,
				answers: null,
				layout: null,
				files: null,
				bytes: null,
				catalogGeneration: null,
				storeGeneration,
				stale: false,
				storeCatalogAt: newest?.createdAt ?? null,
				lastRefreshAt: null,
				parked: false,
				runtimeDir: null,
				otherNamespaces: [],
				counters: null,
			};
		}
		const stats = await readMountStats({ runtimeDir: m.runtimeDir }).catch(() => null);
		const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
		// A parked view with no daemon would make a probe wait its whole timeout: only ENOTCONN is news there.
		const answers = await probeView({ path: mountpoint, timeoutMs: m.state === "parked" ? Math.min(timeoutMs, 500) : timeoutMs });
		let state: ViewStatus["state"] = m.state;
		if (answers.state === "dead") state = "dead";
		else if (answers.state === "hung" && m.state !== "parked") state = "hung";
		else if (answers.state === "answers" && (m.state === "dead" || m.state === "parked")) state = "degraded";
		const shown = stats !== null && stats.imageId !== "0000000000000000" ? stats.generation : (m.record?.catalogGeneration ?? null);
		return {
			name,
			mountpoint,
			mounted: true,
			state,
			holder: { pid: m.holderPid, alive: m.holderAlive, version: stats?.holderVersion ?? null, startedAt: stats?.holderStartedAt ?? null },
			daemon: { pid: m.daemonPid, alive: m.daemonAlive, version: stats?.daemonVersion ?? null, startedAt: stats?.daemonStartedAt ?? null },
			restarts: { daemon: Math.max(0, (stats?.daemonStarts ?? 1) - 1), holder: Math.max(0, (stats?.holderStarts ?? 1) - 1) },
			startedAt: stats?.startedAt ?? m.record?.startedAt ?? null,
			answers,
			layout: typeof m.record?.view?.layout === "string" ? (m.record.view.layout as string) : null,
			files: m.record?.files ?? null,
			bytes: m.record?.fileBytes ?? null,
			catalogGeneration: shown,
			storeGeneration,
			stale: name !== null && storeGeneration !== null && (shown ?? 0) < storeGeneration,
			storeCatalogAt: newest?.createdAt ?? null,
			lastRefreshAt: stats?.lastRefreshAt ?? m.record?.refreshedAt ?? null,
			parked: stats?.parked ?? false,
			runtimeDir: m.runtimeDir,
			otherNamespaces: heldBy(m.majorMinor),
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
							backingIdsOpen: stats.backingIdsOpen,
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
		const view = viewOf(lower);
		const answers = o === undefined ? null : await probeView({ path: target, timeoutMs });
		let standsOn: BackendStatus["standsOn"] = "none";
		if (o !== undefined) {
			if (answers?.state === "answers") standsOn = "live";
			else if (answers?.state === "dead") standsOn = view?.state === "live" || view?.state === "degraded" ? "replaced" : "dead";
			else if (answers?.state === "hung") standsOn = "hung";
			else standsOn = "unknown";
		}
		const dev = o === undefined ? undefined : mountinfo.find((m) => m.mountId === o.mountId)?.majorMinor;
		// Opaque folders are only told while mounted (through the merged view); a dead lower hides nothing to list.
		const hidden =
			upper === null || lower === null || standsOn === "dead" || standsOn === "hung"
				? null
				: await listWhiteouts({ upper, lower, merged: o === undefined ? undefined : target }).catch(() => null);
		return {
			name,
			target,
			mounted: o !== undefined,
			lower,
			upper,
			view: view?.mountpoint ?? null,
			standsOn,
			answers,
			otherNamespaces: dev === undefined ? [] : heldBy(dev),
			filesServed: o === undefined ? null : (view?.files ?? null),
			upperFiles: measure?.files ?? null,
			upperBytes: measure?.bytes ?? null,
			upperUnreadable: measure?.unreadable ?? [],
			hidden,
		};
	};
	for (const b of config?.backends ?? []) status.backends.push(await backendStatus(b.name, b.target));
	for (const o of overlays) {
		if (status.backends.some((b) => b.target === o.target)) continue;
		if (viewOf(o.lower[0] ?? null) === undefined) continue;
		status.backends.push(await backendStatus(null, o.target));
	}

	// Instances not mounted here any more that containers still read through.
	const here = new Set(views.map((v) => v.runtimeDir));
	for (const i of instances) {
		if (here.has(i.dir) || i.majorMinor === null || i.majorMinor === "0:0") continue;
		const held = heldBy(i.majorMinor);
		if (held.length === 0) continue;
		const pid = async (f: string) => Number.parseInt(await readFile(join(i.dir, f), "utf8").catch(() => ""), 10) || null;
		const proc = async (f: string): Promise<ProcessStatus> => {
			const p = await pid(f);
			return { pid: p, alive: p !== null && isProcessAlive(p), version: null, startedAt: null };
		};
		const record = await readFile(join(i.dir, "mount.json"), "utf8")
			.then((t) => JSON.parse(t) as MountRecord)
			.catch(() => null);
		status.detachedViews.push({
			mountpoint: record?.mountpoint ?? null,
			runtimeDir: i.dir,
			majorMinor: i.majorMinor,
			holder: await proc("holder.pid"),
			daemon: await proc("daemon.pid"),
			otherNamespaces: held,
		});
	}
	return status;
}
