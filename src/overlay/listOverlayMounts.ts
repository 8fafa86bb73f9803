import { readFile } from "node:fs/promises";
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
	const text = await readFile(params.mountinfo ?? "/proc/self/mountinfo", "utf8");
	const mounts: OverlayMount[] = [];
	for (const line of text.split("\n")) {
		if (line === "") continue;
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		const dash = line.indexOf(" - ");
		if (dash < 0) continue;
		const left = line.slice(0, dash).split(" ");
		const right = line.slice(dash + 3).split(" ");
		if (right[0] !== "overlay") continue;
		const target = unescapeMountinfo(left[4]);
		if (params.target !== undefined && target !== params.target) continue;
		const options = splitOptions(right[2] ?? "");
		const lower = options.get("lowerdir");
		mounts.push({
			target,
			lower: lower === undefined ? [] : splitLower(lower),
			upper: options.has("upperdir") ? unescapeMountinfo(options.get("upperdir")!) : null,
			work: options.has("workdir") ? unescapeMountinfo(options.get("workdir")!) : null,
			mountId: Number(left[0]),
		});
	}
	return mounts;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountinfo(s: string): string {
	return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
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
