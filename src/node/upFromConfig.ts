import { closeSync } from "node:fs";
import { realpath } from "node:fs/promises";
import { basename } from "node:path";
import type { BackendConfig, ModelfsConfig } from "../config/ModelfsConfig.js";
import { selectConfigured } from "../config/selectConfigured.js";
import { MountError } from "../errors.js";
import { adoptMount } from "../mount/adoptMount.js";
import { daemonBinaryVersion } from "../mount/daemonBinaryVersion.js";
import { listModelfsMounts } from "../mount/listModelfsMounts.js";
import { probeView } from "../mount/probeView.js";
import { readListenFds } from "../mount/readListenFds.js";
import { readMountStats } from "../mount/readMountStats.js";
import { type RestartedMount, restartMount } from "../mount/restartMount.js";
import { listOverlayMounts } from "../overlay/listOverlayMounts.js";
import { overlayDown } from "../overlay/overlayDown.js";
import { type OverlayUpResult, overlayUp } from "../overlay/overlayUp.js";
import { findMountUsers } from "../system/findMountUsers.js";
import { readMountinfo } from "../system/readMountinfo.js";
import { type MountedView, mountConfiguredView } from "./mountConfiguredView.js";
import { type RefreshedStoreView, refreshStoreView } from "./refreshStoreView.js";

export interface UpFromConfigParams {
	config: ModelfsConfig;
	/** Only these backends (and the views they read) or views. @default everything */
	only?: string[];
	/**
	 * Refresh every live view in place even when it shows the store's
	 * newest catalog already (views older than it are always refreshed).
	 * Nothing is unmounted either way. @default false
	 */
	refresh?: boolean;
	/** Root of the mounts' runtime folders. @default $MODELFS_RUN_DIR, else /run/modelfs */
	runRoot?: string;
	/**
	 * /dev/fuse fds handed back by systemd's fd store, by name.
	 * @default readListenFds() (LISTEN_FDS, when meant for this process)
	 */
	listenFds?: Map<string, number[]>;
	/** A keeper holding parked fds (`modelfs-fused keep --dir`). @default $MODELFS_FD_KEEPER */
	keeperDir?: string;
	/**
	 * Restart (modelfs restart) the daemon and holder of live views that run
	 * another modelfs-fused version than the one installed: an upgrade with
	 * no unmount. @default true
	 */
	upgrade?: boolean;
	/** Progress lines for stderr. */
	log?: (line: string) => void;
}

export interface UpResult {
	views: MountedView[];
	/** Views switched in place to the store's newest catalog (no unmount). */
	refreshed: string[];
	/** What each refresh did. */
	refreshes: RefreshedStoreView[];
	backends: Array<{ name: string } & OverlayUpResult>;
	/** Backends that could not be put up (the others still were). */
	failed: Array<{ name: string; error: Error }>;
	/** Views whose holder and daemon were gone and whose fds came back from an fd store: a new holder took them. */
	adopted: Array<{ mountpoint: string; holderPid: number; from: "systemd" | "keeper" }>;
	/** Live views restarted onto the installed modelfs-fused (it had another version). */
	upgraded: Array<{ mountpoint: string; from: string; to: string; restart: RestartedMount }>;
}

/**
 * `modelfs up`: mounts the views, then an overlay under each backend's
 * folder, in config order. A live view is refreshed in place when the store
 * has a newer catalog (new models reach running backends, in containers
 * too; nothing is unmounted). A view that fails stops everything (its
 * backends would show an empty folder); a backend that fails is reported
 * and the others still go up. Idempotent. An overlay that stood on a dead
 * view is redone, unless it is busy here or a container still holds its
 * own copy of it: then nothing is mounted under it, and the failure names
 * the processes that hold it.
 */
export async function upFromConfig(params: UpFromConfigParams): Promise<UpResult> {
	const { config } = params;
	const selected = selectConfigured({ config, only: params.only });
	const backends = [...selected.backends];
	const result: UpResult = { views: [], refreshed: [], refreshes: [], backends: [], failed: [], adopted: [], upgraded: [] };
	await takeBackParked(params, result);
	const installed = params.upgrade === false ? null : await daemonBinaryVersion().catch(() => null);
	const fresh = new Set<string>();
	for (const view of selected.views) {
		const existing = (await listModelfsMounts({ runRoot: params.runRoot })).filter((m) => m.mountpoint === view.mountpoint).pop();
		if (existing !== undefined && existing.state === "live" && installed !== null) {
			const stats = await readMountStats({ runtimeDir: existing.runtimeDir }).catch(() => null);
			if (stats !== null && (stats.daemonVersion !== installed || stats.holderVersion !== installed)) {
				const from = stats.daemonVersion || "unknown";
				try {
					const restart = await restartMount({ runtimeDir: existing.runtimeDir, mountpoint: existing.mountpoint });
					result.upgraded.push({ mountpoint: existing.mountpoint, from, to: installed, restart });
					params.log?.(`view ${view.name}: modelfs-fused ${from} -> ${installed} (restarted in place)`);
				} catch (err) {
					// It keeps serving as it is (a view of an older modelfs has no control socket).
					params.log?.(`view ${view.name}: not upgraded in place: ${(err as Error).message}`);
				}
			}
		}
		if (existing !== undefined && (existing.state === "live" || existing.state === "degraded") && existing.record !== null) {
			try {
				const r = await refreshStoreView({ mount: existing, force: params.refresh === true, dropCaches: view.dropCaches, log: params.log });
				if (r.refreshed) {
					result.refreshed.push(view.name);
					result.refreshes.push(r);
				}
			} catch (err) {
				params.log?.(`view ${view.name}: not refreshed: ${(err as Error).message} (it keeps showing what it showed; remounting it shows the new catalog)`);
			}
		}
		const mounted = await mountConfiguredView({ view, storeDir: config.store, runRoot: params.runRoot, log: params.log });
		result.views.push(mounted);
		if (!mounted.alreadyMounted) fresh.add(view.name);
	}
	for (const b of backends) {
		try {
			if (fresh.has(b.view) || (await standsOnDeadView(b))) await redoStaleOverlay(b, config, params.log);
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
 * Every view on this node whose holder and daemon are gone while an fd
 * store still holds its connection (a service restart under systemd, a
 * container restart beside a keeper) gets a holder again, configured or
 * not: its readers only paused. The fds systemd passed are closed here
 * after (the holder has its own).
 */
async function takeBackParked(params: UpFromConfigParams, result: UpResult): Promise<void> {
	const listen = params.listenFds ?? readListenFds();
	const keeperDir = params.keeperDir ?? process.env.MODELFS_FD_KEEPER;
	try {
		for (const m of await listModelfsMounts({ runRoot: params.runRoot })) {
			const fds = listen.get(`modelfs-${basename(m.runtimeDir)}`);
			if (m.state !== "parked" && !(m.state === "dead" && fds !== undefined)) continue;
			if (fds === undefined && keeperDir === undefined) continue;
			try {
				const holderPid = await adoptMount({ mount: m, fds, keeperDir: fds === undefined ? keeperDir : undefined });
				result.adopted.push({ mountpoint: m.mountpoint, holderPid, from: fds !== undefined ? "systemd" : "keeper" });
				params.log?.(`view ${m.mountpoint}: took its fds back from the ${fds !== undefined ? "systemd fd store" : "keeper"}: holder ${holderPid}`);
			} catch (err) {
				params.log?.(`view ${m.mountpoint}: ${(err as Error).message}`);
			}
		}
	} finally {
		for (const list of listen.values()) for (const fd of list) closeQuietly(fd);
	}
}

function closeQuietly(fd: number): void {
	try {
		closeSync(fd);
	} catch {
		// not open (any more)
	}
}

/** The backend's overlay is mounted and a fresh lookup through it gets ENOTCONN (a view mount that died). */
async function standsOnDeadView(b: BackendConfig): Promise<boolean> {
	const target = await realpath(b.target).catch(() => b.target);
	if ((await listOverlayMounts({ target })).length === 0) return false;
	return (await probeView({ path: target })).state === "dead";
}

/**
 * An overlay found on a backend whose view was just mounted again stands
 * on the previous mount (a dead daemon's, detached): it must come down and
 * go up again, but only if nothing holds it. A container's own copy of it
 * (Docker's default rprivate bind) keeps the old upper layer in use: an
 * overlay mounted again on the same upper beside it is undefined behaviour
 * for overlayfs, so nothing is mounted and the container is named.
 */
async function redoStaleOverlay(b: BackendConfig, config: ModelfsConfig, log?: (line: string) => void): Promise<void> {
	const target = await realpath(b.target).catch(() => b.target);
	const mounts = await listOverlayMounts({ target });
	if (mounts.length === 0) return;
	const devices = (await readMountinfo()).filter((m) => m.fstype === "overlay" && m.mountpoint === target).map((m) => m.majorMinor);
	const users = await findMountUsers({ devices, paths: [target] });
	const elsewhere = users.namespaces.flatMap((n) => n.pids);
	if (elsewhere.length > 0) {
		throw new MountError(
			"OVERLAY_HELD",
			`its overlay at ${target} stands on a dead view and is still held by processes in other mount namespaces (pids ${elsewhere.join(", ")}: a running container)`,
			{
				path: target,
				hint: "restart that container (its copy of the mounts cannot be repaired from the host), then run modelfs up again; nothing was mounted under it",
			},
		);
	}
	const here = [...new Set(users.processes.map((p) => p.pid))];
	if (here.length > 0) {
		throw new MountError("OVERLAY_HELD", `its overlay at ${target} stands on a dead view and is busy (pids ${here.join(", ")} use files in it)`, {
			path: target,
			hint: "stop those processes (a backend reading through a dead view gets ENOTCONN anyway), then run modelfs up again",
		});
	}
	log?.(`backend ${b.name}: its overlay stands on the previous mount of view ${b.view}: mounting it again`);
	await overlayDown({ target: b.target, stateDir: config.stateDir });
}
