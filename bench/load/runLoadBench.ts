import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, hostname, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import type { BenchSession } from "./BenchSession.js";
import { CommandFailed } from "./BenchSession.js";
import type { BenchReport, LoadResult, MemoryResult, MetadataResult, MountTiming, PatternInfo, RowId, RowInfo } from "./BenchTypes.js";
import { buildLoadgen } from "./buildLoadgen.js";
import { checkTargets } from "./checkTargets.js";
import { generateManyFiles } from "./generateManyFiles.js";
import { generateModel } from "./generateModel.js";
import { loadFixture } from "./loadFixture.js";
import { mountFuseNative } from "./mountFuseNative.js";
import { mountOverlay } from "./mountOverlay.js";
import { mountView } from "./mountView.js";
import { runLoadgen } from "./runLoadgen.js";
import { runModelfs } from "./runModelfs.js";
import { Unavailable } from "./Unavailable.js";
import { writePlainCache } from "./writePlainCache.js";

export interface RunLoadBenchParams {
	session: BenchSession;
	/** Bytes of safetensors data to generate and read. */
	sizeBytes: number;
	/** Small files for the stat/readdir bench. @default 10000 */
	manyFiles?: number;
	/** Rounds per measurement (one cold and three warm runs each); the best run is reported. @default 1 */
	repeat?: number;
	/** Check every row served the same bytes (costs a pass over the data). @default false */
	verify?: boolean;
	/** The CI smoke run: recorded in the report. @default false */
	quick?: boolean;
	/** Only these rows (direct always runs: it is the reference). @default all */
	rows?: RowId[];
	/** Where the work folder is made; must be a disk, not tmpfs. @default os.tmpdir() */
	tmpDir?: string;
	/** Progress lines (stderr). */
	log: (line: string) => void;
}

const ROW_LABELS: Record<RowId, string> = {
	direct: "direct read of the store blob",
	passthrough: "modelfs view, passthrough",
	daemon: "modelfs view, daemon reads (--no-passthrough)",
	"overlay-view": "overlay on the modelfs view",
	"overlay-plain": "overlay on a plain copy (kernel only)",
	"fuse-native": "fuse-native mount (libfuse 2, JS reads)",
};

const PATTERNS: Array<PatternInfo & { args: (verify: string, files: string[]) => string[] }> = [
	{ id: "seq", label: "1 reader x 16 MiB read", args: (v, f) => ["seq", String(16 << 20), v, ...f] },
	{ id: "pread16", label: "16 threads x 16 MiB pread", args: (v, f) => ["pread", "16", String(16 << 20), "interleave", v, ...f] },
	{ id: "chunks8", label: "8 threads x 2 MiB chunks", args: (v, f) => ["pread", "8", String(2 << 20), "ranges", v, ...f] },
	{ id: "mmap", label: "mmap page walk", args: (v, f) => ["mmap", v, ...f] },
	{ id: "loader", label: "header, then tensors", args: (v, f) => ["loader", v, ...f] },
];

interface Row extends RowInfo {
	/** The weight files as this row reaches them. */
	files: string[];
	/** Where the many-small-files tree is (metadata bench), when mounted for this row. */
	manyRoot?: string;
}

/**
 * The load bench: generates safetensors shards, imports them into a temp
 * store, mounts every row (view with and without passthrough, overlays,
 * fuse-native), reads the same files through each with each access
 * pattern cold and warm, then measures page cache use, metadata and mount
 * time. Everything it mounts or starts is undone by `session.close()`.
 */
export async function runLoadBench(params: RunLoadBenchParams): Promise<BenchReport> {
	const { session, log } = params;
	const started = Date.now();
	const repeat = params.repeat ?? 1;
	const verify = params.verify ? "1" : "0";
	const wanted = (id: RowId) => id === "direct" || !params.rows || params.rows.includes(id);
	const warnings: string[] = [];
	const failures: string[] = [];
	const warn = (line: string) => {
		warnings.push(line);
		log(`warning: ${line}`);
	};
	const fail = (line: string) => {
		failures.push(line);
		log(`FAILED: ${line}`);
	};
	const loadgen = await buildLoadgen({ session });
	const lg = <T>(args: string[], input?: string) => runLoadgen<T>({ session, binary: loadgen, args, input });

	const base = mkdtempSync(join(params.tmpDir ?? tmpdir(), "modelfs-bench-"));
	session.defer(`remove ${base}`, () => rmSync(base, { recursive: true, force: true }));
	log(`work folder ${base}`);

	log(`generating ${(params.sizeBytes / 2 ** 30).toFixed(2)} GiB of safetensors shards and ${params.manyFiles ?? 10_000} small files`);
	const model = generateModel({ dir: join(base, "src", "model"), totalBytes: params.sizeBytes });
	const manyCount = params.manyFiles ?? 10_000;
	const manyRel = generateManyFiles({ dir: join(base, "src", "many"), count: manyCount });

	const store = join(base, "store");
	const storeMany = join(base, "store-many");
	log("modelfs import (model, then the small files)");
	await runModelfs({ session, storeDir: store, args: ["init"] });
	await runModelfs({ session, storeDir: storeMany, args: ["init"] });
	await runModelfs({ session, storeDir: store, args: ["import", join(base, "src", "model"), "--as", "bench/model", "--quiet"] });
	await runModelfs({ session, storeDir: storeMany, args: ["import", join(base, "src", "many"), "--as", "bench/many", "--quiet"] });
	// The sources are not read again (the plain copies come from the store):
	// deleting them now spares writing their dirty pages back.
	rmSync(join(base, "src"), { recursive: true, force: true });
	const fixture = await loadFixture({ storeDir: store, repo: "bench/model" });
	const many = await loadFixture({ storeDir: storeMany, repo: "bench/many" });
	const weightRel = model.weights.map((w) => `${fixture.snapshotDir}/${w}`);
	const manyStatRel = manyRel.map((p) => `${many.snapshotDir}/${p}`);

	log("writing the plain copies of the cache folders");
	const plain = join(base, "plain");
	const plainMany = join(base, "plain-many");
	const manifest = writePlainCache({ tree: fixture.tree, storeDir: store, dir: plain });
	const manifestMany = writePlainCache({ tree: many.tree, storeDir: storeMany, dir: plainMany });

	const rows: Row[] = [];
	const mount: MountTiming[] = [];
	const under = (root: string) => weightRel.map((r) => join(root, r));
	const addRow = async (id: RowId, setup: () => Promise<{ files: string[]; note?: string; manyRoot?: string }>) => {
		if (!wanted(id)) return;
		try {
			const r = await setup();
			rows.push({ id, label: ROW_LABELS[id], available: true, ...r });
		} catch (err) {
			if (session.interrupted) throw err;
			const note = err instanceof Unavailable ? err.message : `failed to set up: ${(err as Error).message}`;
			if (!(err instanceof Unavailable)) fail(`${ROW_LABELS[id]}: ${note}`);
			else log(`${ROW_LABELS[id]}: ${note}`);
			rows.push({ id, label: ROW_LABELS[id], available: false, note, files: [] });
		}
	};
	const firstByte = async (what: string, mountMs: number, file: string) => {
		const t = await lg<{ seconds: number }>(["first", file]);
		mount.push({ what, mountMs, firstByteMs: t.seconds * 1000, totalMs: mountMs + t.seconds * 1000 });
	};

	log("mounting the rows");
	await addRow("direct", async () => ({ files: model.weights.map((w) => fixture.blobs.get(w)!) }));
	const view = join(base, "mnt", "view");
	const viewMany = join(base, "mnt", "view-many");
	let viewUp = false;
	let overlayVia: "modelfs" | "mount" = "modelfs";
	await addRow("passthrough", async () => {
		const { mountMs } = await mountView({ session, storeDir: store, mountpoint: view });
		viewUp = true;
		await firstByte(`modelfs mount, ${model.files.length} files, to first byte`, mountMs, join(view, weightRel[0]));
		const m = await mountView({ session, storeDir: storeMany, mountpoint: viewMany });
		await firstByte(`modelfs mount, ${manyCount} files, to first byte`, m.mountMs, join(viewMany, manyStatRel[0]));
		return { files: under(view), manyRoot: viewMany };
	});
	await addRow("daemon", async () => {
		const mp = join(base, "mnt", "view-daemon");
		await mountView({ session, storeDir: store, mountpoint: mp, passthrough: false });
		return { files: under(mp) };
	});
	await addRow("overlay-view", async () => {
		if (!viewUp) throw new Unavailable("needs the passthrough view, which did not mount");
		let note: string | undefined;
		let target: string;
		try {
			target = await mountOverlay({ session, lower: view, dir: join(base, "ovl-view"), via: "modelfs", storeDir: store });
		} catch (err) {
			if (!(err instanceof CommandFailed) || session.interrupted) throw err;
			overlayVia = "mount";
			note = `mounted with mount(8): \`modelfs overlay up\` failed (${err.message.slice(0, 160)})`;
			warn(`overlay on the modelfs view: ${note}`);
			target = await mountOverlay({ session, lower: view, dir: join(base, "ovl-view2"), via: "mount" });
		}
		// Its own view underneath, so its first metadata pass is as cold as the view's.
		const lowerMany = join(base, "mnt", "view-many-lower");
		await mountView({ session, storeDir: storeMany, mountpoint: lowerMany });
		const manyRoot = await mountOverlay({ session, lower: lowerMany, dir: join(base, "ovl-view-many"), via: overlayVia, storeDir: storeMany });
		return { files: under(target), note, manyRoot };
	});
	await addRow("overlay-plain", async () => {
		const target = await mountOverlay({ session, lower: plain, dir: join(base, "ovl-plain"), via: "mount" });
		return { files: under(target), note: "mount -t overlay, lowerdir = a plain copy of the same cache folder" };
	});
	await addRow("fuse-native", async () => {
		const mp = join(base, "mnt", "fuse-native");
		const { mountMs } = await mountFuseNative({ session, manifest, manifestPath: join(base, "fuse-native.json"), mountpoint: mp });
		await firstByte(`fuse-native server start, ${model.files.length} files, to first byte`, mountMs, join(mp, weightRel[0]));
		const mpMany = join(base, "mnt", "fuse-native-many");
		await mountFuseNative({ session, manifest: manifestMany, manifestPath: join(base, "fuse-native-many.json"), mountpoint: mpMany });
		return { files: under(mp), manyRoot: mpMany };
	});

	// Dirty pages of the generated files and the import cannot be dropped:
	// write them out once so cold runs really start cold.
	await session.run("sync", []);

	const live = () => rows.filter((r) => r.available);
	const rowOf = (id: RowId) => rows.find((r) => r.id === id);
	const plainFiles = under(plain);
	const daemonFiles = rowOf("daemon")?.available ? rowOf("daemon")!.files : [];
	const blobFiles = rowOf("direct")!.files;
	// Every page cache that can hold these bytes: the blob, the plain copy
	// and the daemon-served view file (passthrough and overlays map to one of
	// those; fuse-native drops its cache on every open).
	const cacheOwners = [...blobFiles, ...plainFiles, ...daemonFiles];
	const evictPaths = [...new Set([...cacheOwners, ...live().flatMap((r) => r.files)])];
	const evict = async () => {
		await lg(["evict", ...evictPaths]);
		return (await lg<{ resident: number }>(["resident", ...cacheOwners])).resident;
	};
	// The first read of a freshly written file comes from the disk itself,
	// later ones (after the page cache is dropped) from whatever caches
	// below (on a VM the host's): read every file once so that "cold" means
	// the same for every row, this machine's page cache dropped.
	log("reading every file once so that every cold run starts from the same disk state");
	await lg(PATTERNS[0].args("0", [...blobFiles, ...plainFiles]));

	const load: LoadResult[] = [];
	const reference = new Map<string, number>();
	let checksum: string | undefined;
	for (const [p, pattern] of PATTERNS.entries()) {
		// Repeats go round the rows, so drift in the machine's load (other
		// jobs) spreads over every row alike, and each round starts at
		// another row: on a VM the host caches the virtual disk, so the
		// first row to read a file "cold" pays more than the next ones.
		const runs = new Map<RowId, { cold: number[]; warm: number[]; residentBefore: number; bytes: number; checksumOk?: boolean; failed?: boolean }>();
		for (let i = 0; i < repeat; i++) {
			const order = live();
			const shift = (p + i) % order.length;
			for (const row of [...order.slice(shift), ...order.slice(0, shift)]) {
				const m = runs.get(row.id) ?? { cold: [], warm: [], residentBefore: 0, bytes: 0 };
				runs.set(row.id, m);
				if (m.failed) continue;
				// The baseline is 10x slower than the rest: one run tells its story.
				if (i > 0 && row.id === "fuse-native") continue;
				try {
					// Warm runs are short and cheap: three per round, so one that
					// another job's burst landed on does not decide the figure.
					const warmRuns = row.id === "fuse-native" ? 1 : 3;
					for (const temp of ["cold", ...Array<"warm">(warmRuns).fill("warm")] as const) {
						if (temp === "cold") m.residentBefore = Math.max(m.residentBefore, await evict());
						const r = await lg<{ bytes: number; seconds: number; checksum?: string }>(pattern.args(verify, row.files));
						m[temp].push(r.bytes / r.seconds / 1e9);
						m.bytes = r.bytes;
						if (r.checksum !== undefined) {
							checksum ??= r.checksum;
							m.checksumOk = (m.checksumOk ?? true) && r.checksum === checksum;
						}
					}
				} catch (err) {
					if (session.interrupted) throw err;
					fail(`${row.label}, ${pattern.label}: ${(err as Error).message}`);
					m.failed = true;
				}
			}
		}
		for (const row of live()) {
			const m = runs.get(row.id)!;
			if (m.failed) continue;
			if (m.bytes !== model.weightBytes) fail(`${row.label}, ${pattern.label}: read ${m.bytes} bytes, expected ${model.weightBytes}`);
			if (m.checksumOk === false) fail(`${row.label}, ${pattern.label}: the bytes read differ from the direct read`);
			if (m.residentBefore > model.weightBytes / 100) {
				warn(`${row.label}, ${pattern.label}: ${(m.residentBefore / 2 ** 20).toFixed(0)} MiB still cached before a cold run`);
			}
			for (const temp of ["cold", "warm"] as const) {
				// Other jobs on the machine only ever slow a run down: the best
				// run is the closest to what the path can do, for every row alike.
				const gbps = Math.max(...m[temp]);
				if (row.id === "direct") reference.set(`${pattern.id}/${temp}`, gbps);
				const ref = reference.get(`${pattern.id}/${temp}`);
				load.push({
					row: row.id,
					pattern: pattern.id,
					temp,
					bytes: m.bytes,
					gbps,
					runs: m[temp],
					ratio: ref ? gbps / ref : null,
					...(temp === "cold" ? { residentBeforeBytes: m.residentBefore } : {}),
					...(m.checksumOk === undefined ? {} : { checksumOk: m.checksumOk }),
				});
			}
			log(`${pattern.label.padEnd(26)} ${row.label.padEnd(48)} cold ${fmt(load.at(-2)!.gbps)} warm ${fmt(load.at(-1)!.gbps)} GB/s`);
		}
	}

	log("page cache per byte read (cold sequential read of every shard)");
	const memory: MemoryResult[] = [];
	for (const row of live()) {
		try {
			await evict();
			const before = meminfoCached();
			const residentBefore = (await lg<{ resident: number }>(["resident", ...cacheOwners])).resident;
			const r = await lg<{ bytes: number }>(PATTERNS[0].args("0", row.files));
			const after = meminfoCached();
			const residentAfter = (await lg<{ resident: number }>(["resident", ...cacheOwners])).resident;
			memory.push({
				row: row.id,
				bytesRead: r.bytes,
				meminfoCachedDelta: after - before,
				mincoreDelta: residentAfter - residentBefore,
				perByteMeminfo: (after - before) / r.bytes,
				perByteMincore: (residentAfter - residentBefore) / r.bytes,
			});
		} catch (err) {
			if (session.interrupted) throw err;
			fail(`${row.label}, page cache: ${(err as Error).message}`);
		}
	}

	log(`metadata: stat of ${manyCount} files and a readdir walk`);
	const metaRows: Array<{ row: RowId | "plain"; label: string; root: string }> = [
		{ row: "plain", label: "plain folder (dentries already cached)", root: plainMany },
		...live()
			.filter((r) => r.manyRoot)
			.map((r) => ({ row: r.id, label: r.id === "passthrough" ? "modelfs view" : r.label, root: r.manyRoot! })),
	];
	const metadata: MetadataResult[] = [];
	for (const m of metaRows) {
		try {
			const list = manyStatRel.map((p) => join(m.root, p)).join("\n");
			const stat = () => lg<{ entries: number; seconds: number }>(["stat"], list);
			const walk = () => lg<{ entries: number; seconds: number }>(["walk", m.root]);
			const s1 = await stat();
			const w1 = await walk();
			const s2 = await stat();
			const w2 = await walk();
			metadata.push({
				row: m.row,
				label: m.label,
				statCount: s1.entries,
				walkEntries: w1.entries,
				statFirstMs: s1.seconds * 1000,
				statAgainMs: s2.seconds * 1000,
				walkFirstMs: w1.seconds * 1000,
				walkAgainMs: w2.seconds * 1000,
			});
		} catch (err) {
			if (session.interrupted) throw err;
			fail(`${m.label}, metadata: ${(err as Error).message}`);
		}
	}
	const walkCounts = new Set(metadata.map((m) => m.walkEntries));
	if (walkCounts.size > 1) fail(`the readdir walks saw different entry counts: ${metadata.map((m) => `${m.label} ${m.walkEntries}`).join(", ")}`);

	const rowInfos: RowInfo[] = rows.map(({ id, label, available, note }) => ({ id, label, available, ...(note ? { note } : {}) }));
	const report: BenchReport = {
		format: 1,
		date: new Date(started).toISOString(),
		host: hostname(),
		kernel: release(),
		cpu: cpus()[0]?.model ?? "unknown",
		cores: cpus().length,
		memBytes: totalmem(),
		quick: params.quick ?? false,
		repeat,
		sizeBytes: model.weightBytes,
		weightFiles: model.weights.length,
		rows: rowInfos,
		patterns: PATTERNS.map(({ id, label }) => ({ id, label })),
		load,
		memory,
		metadata: { files: manyCount, rows: metadata },
		mount,
		targets: [],
		durationSeconds: 0,
		failures,
		warnings,
	};
	report.targets = checkTargets({ report });
	report.durationSeconds = (Date.now() - started) / 1000;
	return report;
}

function fmt(gbps: number): string {
	return gbps.toFixed(2).padStart(6);
}

/** `Cached` of /proc/meminfo, in bytes. */
function meminfoCached(): number {
	const m = /^Cached:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
	return m ? Number(m[1]) * 1024 : 0;
}
