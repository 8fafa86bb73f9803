import { readMountinfo } from "../system/readMountinfo.js";
import { unescapeMountinfo } from "../system/unescapeMountinfo.js";
import type { OverlayMount } from "./OverlayTypes.js";

export interface ListOverlayMountsParams {
	/** Only the mounts at this absolute path (realpath'd by the caller). */
	target?: string;
	/** The mount table to read. @default "/proc/self/mountinfo" */
	mountinfo?: string;
}

/**
 * The overlayfs mounts of this mount namespace, bottom of a stack first
 * (mountinfo order), read from mountinfo's super options
 * (`lowerdir=...,upperdir=...,workdir=...`).
 */
export async function listOverlayMounts(params: ListOverlayMountsParams = {}): Promise<OverlayMount[]> {
	const mounts: OverlayMount[] = [];
	for (const entry of await readMountinfo({ path: params.mountinfo })) {
		if (entry.fstype !== "overlay") continue;
		const target = entry.mountpoint;
		if (params.target !== undefined && target !== params.target) continue;
		const options = splitOptions(entry.superOptions);
		const lower = options.get("lowerdir");
		mounts.push({
			target,
			lower: lower === undefined ? [] : splitLower(lower),
			upper: options.has("upperdir") ? unescapeMountinfo(options.get("upperdir")!) : null,
			work: options.has("workdir") ? unescapeMountinfo(options.get("workdir")!) : null,
			mountId: entry.mountId,
		});
	}
	return mounts;
}

/** Super options are comma-separated; overlay escapes commas inside paths with a backslash. */
function splitOptions(s: string): Map<string, string> {
	const out = new Map<string, string>();
	for (const part of s.split(/(?<!\\),/)) {
		const eq = part.indexOf("=");
		if (eq < 0) out.set(part, "");
		else out.set(part.slice(0, eq), part.slice(eq + 1).replaceAll("\\,", ","));
	}
	return out;
}

/** lowerdir layers are `:`-separated (`\:` inside a path). */
function splitLower(s: string): string[] {
	return s.split(/(?<!\\):/).map((p) => unescapeMountinfo(p.replaceAll("\\:", ":")));
}
