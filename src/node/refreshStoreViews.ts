import { realpath } from "node:fs/promises";
import { resolve } from "node:path";
import { listModelfsMounts } from "../mount/listModelfsMounts.js";
import { type RefreshedStoreView, refreshStoreView } from "./refreshStoreView.js";

export interface RefreshStoreViewsParams {
	/** The store whose views to refresh. */
	storeDir: string;
	/** Mountpoints whose refresh also drops unused dentries (the config's `dropCaches: true` views). @default [] */
	dropCachesFor?: string[];
	/** @default $MODELFS_RUN_DIR, else /run/modelfs */
	runRoot?: string;
	/** One-line notes for stderr. */
	log?: (line: string) => void;
}

/**
 * Switches every live view of `storeDir` on this node to the store's newest
 * catalog, in place (what `sync` and `absorb` do after they changed the
 * store, so running backends see it). A view that cannot be refreshed is
 * logged and skipped: the store change itself is done.
 */
export async function refreshStoreViews(params: RefreshStoreViewsParams): Promise<RefreshedStoreView[]> {
	const store = await realpath(resolve(params.storeDir)).catch(() => resolve(params.storeDir));
	const drop = new Set((params.dropCachesFor ?? []).map((m) => resolve(m)));
	const done: RefreshedStoreView[] = [];
	for (const m of await listModelfsMounts({ runRoot: params.runRoot })) {
		if (m.record === null || (m.state !== "live" && m.state !== "degraded")) continue;
		const ours = await realpath(m.record.storeDir).catch(() => m.record?.storeDir);
		if (ours !== store) continue;
		try {
			const r = await refreshStoreView({ mount: m, dropCaches: drop.has(m.mountpoint), log: params.log });
			if (r.refreshed) params.log?.(`view ${m.mountpoint}: catalog ${r.from} -> ${r.to}, in place`);
			done.push(r);
		} catch (err) {
			params.log?.(`view ${m.mountpoint}: not refreshed: ${(err as Error).message} (modelfs refresh ${m.mountpoint} tries again)`);
		}
	}
	return done;
}
