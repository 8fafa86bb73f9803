import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchSession } from "./BenchSession.js";
import { CommandFailed } from "./BenchSession.js";
import type { MountTiming, RowId, RowInfo } from "./BenchTypes.js";
import { buildLoadgen } from "./buildLoadgen.js";
import { detectPrefetch } from "./detectPrefetch.js";
import { findStoreDevice, type StoreDevice } from "./findStoreDevice.js";
import { generateManyFiles } from "./generateManyFiles.js";
import { type GeneratedModel, generateModel } from "./generateModel.js";
import { loadFixture } from "./loadFixture.js";
import { mountFuseNative } from "./mountFuseNative.js";
import { mountOverlay } from "./mountOverlay.js";
import { mountView } from "./mountView.js";
import { runLoadgen } from "./runLoadgen.js";
import { runModelfs } from "./runModelfs.js";
import { Unavailable } from "./Unavailable.js";
import { writePlainCache } from "./writePlainCache.js";

export interface SetupBenchParams {
	session: BenchSession;
	/** Bytes of safetensors data to generate. */
	sizeBytes: number;
	/** Small files for the metadata bench; 0 makes none (and mounts nothing for them). */
	manyFiles: number;
	/** The rows to mount (direct always: it is the reference). */
	rows: RowId[];
	/** Where the work folder is made; must be a disk, not tmpfs. @default os.tmpdir() */
	tmpDir?: string;
	log: (line: string) => void;
	/** Something worth knowing that is not broken. */
	warn: (line: string) => void;
	/** A row that should have worked and did not. */
	fail: (line: string) => void;
}

/** A row as the bench reads it. */
export interface BenchRow extends RowInfo {
	/** The weight files as this row reaches them, in load order. */
	files: string[];
	/** The model's hub cache folder (models--bench--model) as this row shows it; none for the bare blobs. */
	repoDir?: string;
	/** Where the many-small-files tree is (metadata bench), when mounted for this row. */
	manyRoot?: string;
	/** The modelfs views this row reads through: their daemons join a throttled volume's cgroup. */
	views: string[];
}

/** Everything the sections of the bench measure on. */
export interface BenchSetup {
	base: string;
	loadgen: string;
	model: GeneratedModel;
	rows: BenchRow[];
	mount: MountTiming[];
	/** The store's block device, or null on tmpfs. */
	device: StoreDevice | null;
	prefetch: { available: boolean; note?: string };
	/** Every file whose page cache can hold the weights: blobs, plain copies, daemon-served view files. */
	cacheOwners: string[];
	/** Metadata bench: the small files' snapshot paths, and the plain copy of their tree. */
	many: { count: number; statRel: string[]; plainRoot: string } | null;
}

const ROW_LABELS: Record<RowId, string> = {
	direct: "direct read of the store blob",
	passthrough: "modelfs view, passthrough",
	"passthrough-prefetch": "modelfs view, passthrough, prefetch on",
	daemon: "modelfs view, daemon reads (--no-passthrough)",
	"overlay-view": "overlay on the modelfs view",
	"overlay-view-prefetch": "overlay on the modelfs view, prefetch on",
	"overlay-plain": "overlay on a plain copy (kernel only)",
	"fuse-native": "fuse-native mount (libfuse 2, JS reads)",
};

/**
 * Generates the model (and the small files), imports them into temporary
 * stores, writes the plain copies and mounts every wanted row on the same
 * files. With `modelfs mount --prefetch` available, the views of the plain
 * rows are mounted with `--prefetch off` and the prefetch rows get views of
 * their own with `--prefetch on`. Everything is undone by `session.close()`.
 */
export async function setupBench(params: SetupBenchParams): Promise<BenchSetup> {
	const { session, log, warn, fail } = params;
	const wanted = (id: RowId) => id === "direct" || params.rows.includes(id);
	const loadgen = await buildLoadgen({ session });
	const lg = <T>(args: string[]) => runLoadgen<T>({ session, binary: loadgen, args });

	const base = mkdtempSync(join(params.tmpDir ?? tmpdir(), "modelfs-bench-"));
	session.defer(`remove ${base}`, () => rmSync(base, { recursive: true, force: true }));
	log(`work folder ${base}`);

	const manyCount = params.manyFiles;
	log(`generating ${(params.sizeBytes / 2 ** 30).toFixed(2)} GiB of safetensors shards${manyCount > 0 ? ` and ${manyCount} small files` : ""}`);
	const model = generateModel({ dir: join(base, "src", "model"), totalBytes: params.sizeBytes });
	const manyRel = manyCount > 0 ? generateManyFiles({ dir: join(base, "src", "many"), count: manyCount }) : [];

	const store = join(base, "store");
	const storeMany = join(base, "store-many");
	log("modelfs import");
	await runModelfs({ session, storeDir: store, args: ["init"] });
	await runModelfs({ session, storeDir: store, args: ["import", join(base, "src", "model"), "--as", "bench/model", "--quiet"] });
	if (manyCount > 0) {
		await runModelfs({ session, storeDir: storeMany, args: ["init"] });
		await runModelfs({ session, storeDir: storeMany, args: ["import", join(base, "src", "many"), "--as", "bench/many", "--quiet"] });
	}
	// The sources are not read again (the plain copies come from the store):
	// deleting them now spares writing their dirty pages back.
	rmSync(join(base, "src"), { recursive: true, force: true });
	const fixture = await loadFixture({ storeDir: store, repo: "bench/model" });
	const many = manyCount > 0 ? await loadFixture({ storeDir: storeMany, repo: "bench/many" }) : null;
	const weightRel = model.weights.map((w) => `${fixture.snapshotDir}/${w}`);
	const repoRel = fixture.snapshotDir.split("/snapshots/")[0];
	const manyStatRel = many ? manyRel.map((p) => `${many.snapshotDir}/${p}`) : [];
	const device = await findStoreDevice({ path: join(store, "objects") });
	const prefetch = await detectPrefetch({ session, storeDir: store });
	// Only where the option exists: an older CLI would refuse the flag.
	const prefetchOff = prefetch.available ? ("off" as const) : undefined;

	log("writing the plain copies of the cache folders");
	const plain = join(base, "plain");
	const plainMany = join(base, "plain-many");
	const manifest = wanted("overlay-plain") || wanted("fuse-native") ? writePlainCache({ tree: fixture.tree, storeDir: store, dir: plain }) : null;
	const manifestMany = many && (wanted("overlay-plain") || wanted("fuse-native")) ? writePlainCache({ tree: many.tree, storeDir: storeMany, dir: plainMany }) : null;

	const rows: BenchRow[] = [];
	const mount: MountTiming[] = [];
	const under = (root: string) => ({ files: weightRel.map((r) => join(root, r)), repoDir: join(root, repoRel) });
	const addRow = async (id: RowId, setup: () => Promise<Omit<BenchRow, keyof RowInfo>>) => {
		if (!wanted(id)) return;
		try {
			const r = await setup();
			rows.push({ id, label: labelOf(id, prefetch.available), available: true, ...r });
		} catch (err) {
			if (session.interrupted) throw err;
			const note = err instanceof Unavailable ? err.message : `failed to set up: ${(err as Error).message}`;
			if (!(err instanceof Unavailable)) fail(`${ROW_LABELS[id]}: ${note}`);
			else log(`${ROW_LABELS[id]}: ${note}`);
			rows.push({ id, label: labelOf(id, prefetch.available), available: false, note, files: [], views: [] });
		}
	};
	const firstByte = async (what: string, mountMs: number, file: string) => {
		const t = await lg<{ seconds: number }>(["first", file]);
		mount.push({ what, mountMs, firstByteMs: t.seconds * 1000, totalMs: mountMs + t.seconds * 1000 });
	};
	let overlayVia: "modelfs" | "mount" = "modelfs";
	const overlayOn = async (lower: string, dir: string, storeDir: string) => {
		try {
			return { target: await mountOverlay({ session, lower, dir, via: overlayVia, storeDir }) };
		} catch (err) {
			if (!(err instanceof CommandFailed) || session.interrupted || overlayVia === "mount") throw err;
			overlayVia = "mount";
			const note = `mounted with mount(8): \`modelfs overlay up\` failed (${err.message.slice(0, 160)})`;
			warn(`overlay on ${lower}: ${note}`);
			return { target: await mountOverlay({ session, lower, dir: `${dir}-mount`, via: "mount" }), note };
		}
	};

	log("mounting the rows");
	await addRow("direct", async () => ({ files: model.weights.map((w) => fixture.blobs.get(w)!), views: [] }));
	const view = join(base, "mnt", "view");
	const viewPrefetch = join(base, "mnt", "view-prefetch");
	let viewUp = false;
	let viewPrefetchUp = false;
	await addRow("passthrough", async () => {
		const { mountMs } = await mountView({ session, storeDir: store, mountpoint: view, prefetch: prefetchOff });
		viewUp = true;
		await firstByte(`modelfs mount, ${model.files.length} files, to first byte`, mountMs, join(view, weightRel[0]));
		let manyRoot: string | undefined;
		if (many) {
			manyRoot = join(base, "mnt", "view-many");
			const m = await mountView({ session, storeDir: storeMany, mountpoint: manyRoot, prefetch: prefetchOff });
			await firstByte(`modelfs mount, ${manyCount} files, to first byte`, m.mountMs, join(manyRoot, manyStatRel[0]));
		}
		return { ...under(view), manyRoot, views: [view] };
	});
	await addRow("passthrough-prefetch", async () => {
		if (!prefetch.available) throw new Unavailable(prefetch.note ?? "no --prefetch");
		await mountView({ session, storeDir: store, mountpoint: viewPrefetch, prefetch: "on" });
		viewPrefetchUp = true;
		return { ...under(viewPrefetch), views: [viewPrefetch] };
	});
	await addRow("daemon", async () => {
		const mp = join(base, "mnt", "view-daemon");
		await mountView({ session, storeDir: store, mountpoint: mp, passthrough: false, prefetch: prefetchOff });
		return { ...under(mp), views: [mp] };
	});
	await addRow("overlay-view", async () => {
		if (!viewUp) throw new Unavailable("needs the passthrough view, which did not mount");
		const { target, note } = await overlayOn(view, join(base, "ovl-view"), store);
		let manyRoot: string | undefined;
		if (many) {
			// Its own view underneath, so its first metadata pass is as cold as the view's.
			const lowerMany = join(base, "mnt", "view-many-lower");
			await mountView({ session, storeDir: storeMany, mountpoint: lowerMany, prefetch: prefetchOff });
			manyRoot = (await overlayOn(lowerMany, join(base, "ovl-view-many"), storeMany)).target;
		}
		return { ...under(target), note, manyRoot, views: [view] };
	});
	await addRow("overlay-view-prefetch", async () => {
		if (!prefetch.available) throw new Unavailable(prefetch.note ?? "no --prefetch");
		if (!viewPrefetchUp) throw new Unavailable("needs the prefetch view, which did not mount");
		const { target, note } = await overlayOn(viewPrefetch, join(base, "ovl-view-prefetch"), store);
		return { ...under(target), note, views: [viewPrefetch] };
	});
	await addRow("overlay-plain", async () => {
		const target = await mountOverlay({ session, lower: plain, dir: join(base, "ovl-plain"), via: "mount" });
		return { ...under(target), note: "mount -t overlay, lowerdir = a plain copy of the same cache folder", views: [] };
	});
	await addRow("fuse-native", async () => {
		const mp = join(base, "mnt", "fuse-native");
		const { mountMs } = await mountFuseNative({ session, manifest: manifest!, manifestPath: join(base, "fuse-native.json"), mountpoint: mp });
		await firstByte(`fuse-native server start, ${model.files.length} files, to first byte`, mountMs, join(mp, weightRel[0]));
		let manyRoot: string | undefined;
		if (manifestMany) {
			manyRoot = join(base, "mnt", "fuse-native-many");
			await mountFuseNative({ session, manifest: manifestMany, manifestPath: join(base, "fuse-native-many.json"), mountpoint: manyRoot });
		}
		return { ...under(mp), manyRoot, views: [] };
	});

	const rowOf = (id: RowId) => rows.find((r) => r.id === id && r.available);
	const cacheOwners = [...rowOf("direct")!.files, ...(manifest ? weightRel.map((r) => join(plain, r)) : []), ...(rowOf("daemon")?.files ?? [])];

	// The first read of a freshly written file comes from the disk itself,
	// later ones (after the page cache is dropped) from whatever caches
	// below (on a VM the host's): read every file once so that "cold" means
	// the same for every row, this machine's page cache dropped.
	await session.run("sync", []);
	log("reading every file once so that every cold run starts from the same disk state");
	await lg(["seq", String(16 << 20), "0", ...rowOf("direct")!.files, ...(manifest ? weightRel.map((r) => join(plain, r)) : [])]);

	return {
		base,
		loadgen,
		model,
		rows,
		mount,
		device,
		prefetch,
		cacheOwners,
		many: many ? { count: manyCount, statRel: manyStatRel, plainRoot: plainMany } : null,
	};
}

function labelOf(id: RowId, prefetch: boolean): string {
	// With the option there, say which rows run without it.
	if (prefetch && (id === "passthrough" || id === "overlay-view" || id === "daemon")) return `${ROW_LABELS[id]}, prefetch off`;
	return ROW_LABELS[id];
}
