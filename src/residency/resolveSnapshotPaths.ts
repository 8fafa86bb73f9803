import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { UsageError } from "../errors.js";
import { type ResolvedSnapshot, resolveSnapshot } from "../store/index/resolveSnapshot.js";
import { parseRepoSpec } from "../store/names/parseRepoSpec.js";
import { blobPath } from "../store/objects/blobPath.js";

export interface ResolveSnapshotPathsParams {
	/** The store whose catalog names the snapshot. */
	storeDir: string;
	/** `org/name[@revision]` (`datasets/org/name` for a dataset); revision defaults to main. */
	spec: string;
	/**
	 * A folder that shows the snapshot (a view's mountpoint, a backend folder
	 * with an overlay on it, or a subfolder of one): its files are given as
	 * `through` paths. HF layouts are looked for at `<dir>`, `<dir>/hub` and
	 * `<dir>/huggingface/hub`; then flat layouts (`<dir>/org/name`) and
	 * `<dir>` as the snapshot folder itself.
	 */
	through?: string;
}

export interface SnapshotPaths extends ResolvedSnapshot {
	/** The folder the `through` paths are in, or null without `through`. */
	throughDir: string | null;
	entries: Array<{
		/** Path inside the repo. */
		path: string;
		size: number;
		/** The blob in the store. */
		blob: string;
		/** The same file as `through` shows it, or null. */
		through: string | null;
	}>;
}

/**
 * Resolves `repo[@rev]` against the store's newest catalog to its files: the
 * blob of each in the store and, with `through`, where a mounted folder
 * shows it. Every `through` file must exist with the snapshot's size.
 */
export async function resolveSnapshotPaths(params: ResolveSnapshotPathsParams): Promise<SnapshotPaths> {
	const spec = parseRepoSpec(params.spec);
	const snap = await resolveSnapshot({ storeDir: params.storeDir, name: spec.name, type: spec.type, revision: spec.revision });
	const entries = snap.files.map((f) => ({ path: f.path, size: f.size, blob: blobPath(params.storeDir, f.blake3), through: null as string | null }));
	if (params.through === undefined) return { ...snap, throughDir: null, entries };
	const dir = resolve(params.through);
	const folder = `${snap.type === "dataset" ? "datasets" : "models"}--${snap.name.split("/").join("--")}`;
	const candidates = [
		...["", "hub", "huggingface/hub"].map((p) => join(dir, p, folder, "snapshots", snap.commit)),
		join(dir, ...snap.name.split("/")),
		join(dir, snap.name.split("/").at(-1)!),
		dir,
	];
	const probe = snap.files.reduce((a, b) => (b.size > a.size ? b : a), snap.files[0]);
	let base: string | null = null;
	for (const c of candidates) {
		const s = await stat(join(c, probe.path)).catch(() => null);
		if (s?.isFile() && s.size === probe.size) {
			base = c;
			break;
		}
	}
	if (base === null) {
		throw new UsageError("WARM_THROUGH_NOT_FOUND", `${dir} does not show ${snap.name}@${snap.commit.slice(0, 12)} (looked for ${probe.path} in ${candidates.join(", ")})`, {
			hint: "give the view's mountpoint or a backend folder with the view under it, or leave --through out to read the store's blobs",
		});
	}
	for (const e of entries) {
		e.through = join(base, e.path);
		const s = await stat(e.through).catch(() => null);
		if (s === null || !s.isFile() || s.size !== e.size) {
			throw new UsageError("WARM_THROUGH_NOT_FOUND", `${e.through} ${s === null ? "is missing" : `is not the snapshot's file (${s.size} bytes, want ${e.size})`}`, {
				hint: "the folder shows another revision or a partial copy: name the revision it shows (repo@rev)",
			});
		}
	}
	return { ...snap, throughDir: base, entries };
}
