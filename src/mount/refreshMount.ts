import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MountError } from "../errors.js";
import type { ViewDir } from "../view/ViewTree.js";
import { type ViewImageSummary, writeViewImage } from "../view/writeViewImage.js";
import type { MountRecord } from "./MountTypes.js";
import { sendControl } from "./sendControl.js";

export interface RefreshMountParams {
	/** The mount instance's runtime folder (listModelfsMounts gives it). */
	runtimeDir: string;
	/** The tree to show from now on. */
	tree: ViewDir;
	/** Catalog generation the tree was built from. @default null */
	catalogGeneration?: number | null;
	/** How long the daemon may take to switch. @default 300000 */
	timeoutMs?: number;
}

/** What the daemon did (its reply, native/HOLDER.md "Refresh"). */
export interface RefreshedMount {
	runtimeDir: string;
	image: ViewImageSummary;
	/** The catalog generation now shown. */
	generation: number | null;
	/** Names added to and removed from folders, files whose bytes changed. */
	added: number;
	removed: number;
	changed: number;
	/** Notifications sent to the kernel, and how many found nothing cached. */
	invalEntries: number;
	invalInodes: number;
	notCached: number;
	/** Wall time of the whole refresh, and the daemon's part of it. */
	seconds: number;
	daemonSeconds: number;
}

/**
 * Switches a live mount to a new tree without unmounting anything: writes
 * a view image based on the one served (so every path keeps its nodeid;
 * see writeViewImage's `previous`), and has the daemon load it, switch and
 * invalidate what the kernel cached of what changed. Two refreshes at once
 * are safe: the daemon refuses an image made from an image it no longer
 * serves, and the loser is made again from the new one.
 */
export async function refreshMount(params: RefreshMountParams): Promise<RefreshedMount> {
	if (typeof params?.runtimeDir !== "string" || params.runtimeDir === "") throw new TypeError("refreshMount: `runtimeDir` is required");
	if (params.tree?.kind !== "dir") throw new TypeError("refreshMount: `tree` must be a ViewDir");
	const started = process.hrtime.bigint();
	const { runtimeDir } = params;
	const record = await readRecord(runtimeDir);
	for (let attempt = 0; ; attempt++) {
		const next = join(runtimeDir, `next-${process.pid}-${randomBytes(4).toString("hex")}.img`);
		let image: ViewImageSummary;
		try {
			image = await writeViewImage({
				root: params.tree,
				objectsDir: record.objectsDir,
				path: next,
				previous: join(runtimeDir, "view.img"),
				generation: params.catalogGeneration ?? 0,
			});
			const reply = await sendControl({ runtimeDir, request: `refresh ${next}`, timeoutMs: params.timeoutMs ?? 300_000, attempts: 40 });
			if (!reply.ok) {
				if (reply.code === "REFRESH_STALE_BASE" && attempt < 3) continue;
				throw new MountError("REFRESH_FAILED", `the view at ${record.mountpoint} did not switch to the new image: ${reply.code} ${reply.message}`, {
					path: record.mountpoint,
					hint: `look at ${join(runtimeDir, "daemon.log")}; the view keeps showing what it showed`,
				});
			}
			const d = reply.data ?? {};
			const num = (k: string) => (typeof d[k] === "number" ? (d[k] as number) : 0);
			const updated: MountRecord = {
				...record,
				catalogGeneration: params.catalogGeneration ?? null,
				files: image.files,
				fileBytes: image.fileBytes,
				refreshedAt: new Date().toISOString(),
			};
			const tmp = join(runtimeDir, `mount.json.${process.pid}.tmp`);
			await writeFile(tmp, `${JSON.stringify(updated, null, "\t")}\n`);
			await rename(tmp, join(runtimeDir, "mount.json"));
			return {
				runtimeDir,
				image,
				generation: params.catalogGeneration ?? null,
				added: num("added"),
				removed: num("removed"),
				changed: num("changed"),
				invalEntries: num("invalEntries"),
				invalInodes: num("invalInodes"),
				notCached: num("notCached"),
				seconds: Number(process.hrtime.bigint() - started) / 1e9,
				daemonSeconds: (num("loadUs") + num("switchUs")) / 1e6,
			};
		} finally {
			// The daemon renamed it to view.img when it took it; else it goes.
			await rm(next, { force: true });
		}
	}
}

async function readRecord(runtimeDir: string): Promise<MountRecord> {
	try {
		const r = JSON.parse(await readFile(join(runtimeDir, "mount.json"), "utf8")) as MountRecord;
		if (r?.format === 1 && typeof r.objectsDir === "string") return r;
	} catch {
		// below
	}
	throw new MountError("REFRESH_FAILED", `${join(runtimeDir, "mount.json")} is missing or damaged: the view cannot be refreshed in place`, {
		hint: "remount the view (modelfs umount, then modelfs mount or modelfs up)",
	});
}
