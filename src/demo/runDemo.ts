import { createHash } from "node:crypto";
import { accessSync, constants } from "node:fs";
import { lstat, mkdir, mkdtemp, open, readdir, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { type RunningHubEmulator, startHubEmulator } from "../emulator/index.js";
import { MountError } from "../errors.js";
import { ingestRepo } from "../ingest/hub/ingestRepo.js";
import { startMount } from "../mount/startMount.js";
import { stopMount } from "../mount/stopMount.js";
import { overlayDown } from "../overlay/overlayDown.js";
import { overlayUp } from "../overlay/overlayUp.js";
import { formatBytes } from "../progress/formatBytes.js";
import { readCatalog } from "../store/catalog/readCatalog.js";
import { blobPath } from "../store/objects/blobPath.js";
import { openStore } from "../store/openStore.js";
import { buildViewTree } from "../view/buildViewTree.js";
import { checkSafetensors } from "./checkSafetensors.js";
import { DEMO_INDEX, demoModelFiles } from "./demoModelFiles.js";

const REPO = "modelfs-demo/tiny-llm";
/** Timed reads of each path for the speed line. */
const DEMO_RUNS = 5;
const PREFIX = "huggingface/hub";

export interface RunDemoParams {
	/** Size of the generated weights in MiB (two safetensors shards). @default 64 */
	sizeMiB?: number;
	/** Leave the temporary folder (store, upper layer) behind; mounts are still taken down. @default false */
	keep?: boolean;
	/** Each step's line, as it happens. @default none */
	say?: (line: string) => void;
	/** Problems met while taking things down. @default none */
	warn?: (line: string) => void;
}

/** The figures of one demo run (`modelfs demo --json`). */
export interface DemoReport {
	repo: string;
	commit: string;
	files: number;
	tensors: number;
	bytesRead: number;
	ingest: { downloadedBytes: number; bytesPerSecond: number };
	/** Median GB/s of the same read of one shard through the overlay and of its blob directly, both with the page cache warm. */
	overlayGBs: number;
	directGBs: number;
	ratio: number;
	/** The page cache state both reads were made in: warm (each file read once before the timed reads). */
	temperature: "warm";
	lockInUpper: boolean;
}

/**
 * The whole path, offline, in a temporary folder: a model served by the
 * bundled hub emulator, ingested into a store, shown by the FUSE view, put
 * under a backend's cache folder with overlayfs, loaded the way
 * huggingface_hub does offline, with a lock file landing in the local upper
 * layer. Everything is taken down at the end, also when a step fails.
 */
export async function runDemo(params: RunDemoParams = {}): Promise<DemoReport> {
	const sizeMiB = params.sizeMiB ?? 64;
	if (!Number.isInteger(sizeMiB) || sizeMiB < 1 || sizeMiB > 4096) throw new TypeError("runDemo: `sizeMiB` must be an integer from 1 to 4096");
	const warn = params.warn ?? (() => undefined);
	let report: DemoReport;
	requireMountRights();
	const say = params.say ?? (() => undefined);
	const root = await mkdtemp(join(tmpdir(), "modelfs-demo-"));
	const storeDir = join(root, "store");
	const view = join(root, "view");
	const runRoot = join(root, "run");
	const stateDir = join(root, "state");
	const backend = join(root, "spark-vllm-docker", "cache");
	let hub: RunningHubEmulator | null = null;
	let mounted = false;
	let overlaid = false;
	try {
		// 1. A model on the (emulated) hub.
		hub = await startHubEmulator();
		await hub.hub.commit({ repo: REPO, files: demoModelFiles(sizeMiB) });
		say(`1. hub emulator at ${hub.url} serves ${REPO} (${sizeMiB} MiB of safetensors weights)`);

		// 2. Ingest into a fresh store.
		await (await openStore({ storeDir, create: true })).close();
		const ingest = await ingestRepo({ repo: { type: "model", name: REPO }, storeDir, hubUrl: hub.url });
		say(
			`2. ingested ${REPO}@${ingest.commit.slice(0, 12)} into ${storeDir}: ${ingest.files} files, ${formatBytes(ingest.downloadedBytes)} at ${formatBytes(ingest.bytesPerSecond)}/s, verified (sha256/git sha1)`,
		);

		// 3. The read-only view, Hugging Face cache layout under huggingface/hub.
		const catalog = await readCatalog({ storeDir });
		if (catalog === null) throw new MountError("DEMO_NO_CATALOG", `ingest published no catalog in ${storeDir}`);
		const tree = buildViewTree({ catalog, layout: "hf", prefix: PREFIX });
		await mkdir(view, { recursive: true });
		const m = await startMount({ mountpoint: view, tree, storeDir, runRoot, view: { layout: "hf", prefix: PREFIX }, catalogGeneration: catalog.generation });
		mounted = true;
		say(`3. view mounted at ${view} (${m.image.files} files, FUSE passthrough requested)`);

		// 4. A backend folder that already holds something, then the overlay.
		await mkdir(join(backend, "vllm", "torch_compile_cache"), { recursive: true });
		await writeFile(join(backend, "vllm", "torch_compile_cache", "graph.py"), "# compiled earlier\n");
		const up = await overlayUp({ target: backend, lower: view, stateDir });
		overlaid = true;
		say(`4. overlay on ${backend} (what a container sees as /root/.cache): lower ${up.lower}, upper ${up.upper}; ${up.moved.files} existing file kept`);

		// 5. Load it the way huggingface_hub does with HF_HUB_OFFLINE=1.
		const hubCache = join(backend, PREFIX);
		const folder = join(hubCache, `models--${REPO.replace("/", "--")}`);
		const commit = await readFile(join(folder, "refs", "main"), "utf8");
		const snapshot = join(folder, "snapshots", commit);
		const files = await listFiles(snapshot);
		say(`5. offline load of ${REPO}: refs/main -> ${commit.slice(0, 12)}; ${files.length} files`);
		// As transformers does: the index names the shard of every tensor.
		const index = JSON.parse(await readFile(join(snapshot, DEMO_INDEX), "utf8")) as { weight_map: Record<string, string> };
		let tensors = 0;
		let bytes = 0;
		let seconds = 0;
		for (const f of files) {
			const link = await readlink(join(snapshot, f));
			const t = await timedRead(join(snapshot, f));
			bytes += t.bytes;
			seconds += t.seconds;
			const etag = link.split("/").pop()!;
			// The blob's name is its sha256 (LFS) or git sha1: check the bytes read match it.
			const ok = etag.length === 64 ? (await sha256(join(snapshot, f))) === etag : true;
			if (!ok) {
				say(`   ${f} -> ${link}  ${formatBytes(t.bytes)}  SHA256 MISMATCH`);
				throw new MountError("DEMO_BAD_BYTES", `${f} read through the overlay does not match its sha256 ${etag}`);
			}
			let header = "";
			if (f.endsWith(".safetensors")) {
				const names = Object.keys(index.weight_map).filter((name) => index.weight_map[name] === f);
				const n = await checkSafetensors({ path: join(snapshot, f), tensors: names });
				tensors += n;
				header = `  safetensors header ok: ${n} tensors, byte ranges ok`;
			}
			say(`   ${f} -> ${link}  ${formatBytes(t.bytes)}${etag.length === 64 ? "  sha256 ok" : ""}${header}`);
		}
		if (tensors !== Object.keys(index.weight_map).length) {
			throw new MountError("DEMO_BAD_SAFETENSORS", `the shards of ${REPO} hold ${tensors} tensors, the index names ${Object.keys(index.weight_map).length}`);
		}
		const big = files.filter((f) => f.endsWith(".safetensors"))[0];
		const blake3 = catalog.repos[0].snapshots[0].files.find((x) => x.path === big)!.blake3;
		// Like with like: ingest wrote the blob with O_DIRECT (not cached) and
		// the load above has just read it through the overlay (cached), so a
		// first read of each leaves both warm; then the same timed read of
		// each, alternating, and the median of each, since the machine may be
		// busy with other work. Both paths read the same page cache (passthrough
		// serves the blob's own pages), so this compares what each path adds.
		const overlayPath = join(snapshot, big);
		const blobFile = blobPath(storeDir, blake3);
		const buf = Buffer.alloc(16 << 20);
		await timedRead(overlayPath, buf);
		await timedRead(blobFile, buf);
		const overlayRuns: number[] = [];
		const directRuns: number[] = [];
		for (let i = 0; i < DEMO_RUNS; i++) {
			const o = await timedRead(overlayPath, buf);
			const d = await timedRead(blobFile, buf);
			overlayRuns.push(o.bytes / o.seconds / 1e9);
			directRuns.push(d.bytes / d.seconds / 1e9);
		}
		const overlayGBs = median(overlayRuns);
		const directGBs = median(directRuns);
		say(`   read ${formatBytes(bytes)} through the overlay in ${seconds.toFixed(2)} s`);
		say(
			`   ${big}, page cache warm for both (each read once before), median of ${DEMO_RUNS} alternating reads: ${overlayGBs.toFixed(2)} GB/s through overlay+view, ${directGBs.toFixed(2)} GB/s reading the blob directly (ratio ${(overlayGBs / directGBs).toFixed(2)})`,
		);

		// 6. A lock file, as huggingface_hub takes one: lands in upper, never in the view.
		const lockDir = join(hubCache, ".locks", `models--${REPO.replace("/", "--")}`);
		await mkdir(lockDir, { recursive: true });
		await writeFile(join(lockDir, `${"0".repeat(64)}.lock`), "");
		const inUpper = await exists(join(up.upper, PREFIX, ".locks", `models--${REPO.replace("/", "--")}`, `${"0".repeat(64)}.lock`));
		const inView = await exists(join(view, PREFIX, ".locks"));
		say(`6. wrote ${relative(backend, join(lockDir, `${"0".repeat(64)}.lock`))}: in upper ${inUpper ? "yes" : "NO"}, in the read-only view ${inView ? "YES" : "no"}`);
		if (!inUpper || inView) throw new MountError("DEMO_LOCK_MISPLACED", "the lock file did not land in the upper layer only");

		report = {
			repo: REPO,
			commit,
			files: files.length,
			tensors,
			bytesRead: bytes,
			ingest: { downloadedBytes: ingest.downloadedBytes, bytesPerSecond: ingest.bytesPerSecond },
			overlayGBs,
			directGBs,
			ratio: overlayGBs / directGBs,
			temperature: "warm",
			lockInUpper: inUpper,
		};
	} finally {
		// 7. Take everything down, in reverse.
		if (overlaid) await overlayDown({ target: backend, stateDir }).catch((err: Error) => warn(err.message));
		if (mounted) await stopMount({ mountpoint: view, runRoot }).catch((err: Error) => warn(err.message));
		await hub?.close();
		if (params.keep) warn(`kept ${root}`);
		else await rm(root, { recursive: true, force: true });
	}
	say(`7. cleaned up: overlay and view unmounted, hub emulator stopped${params.keep ? `, ${root} kept` : ", temporary folder removed"}`);
	return report;
}

function requireMountRights(): void {
	const root = typeof process.getuid === "function" && process.getuid() === 0;
	let fuse = true;
	try {
		accessSync("/dev/fuse", constants.R_OK | constants.W_OK);
	} catch {
		fuse = false;
	}
	if (!root || !fuse) {
		throw new MountError("DEMO_NEEDS_ROOT", `modelfs demo mounts a FUSE view and an overlay, which needs root and /dev/fuse (${!root ? "not root" : "/dev/fuse is not usable"})`, {
			hint: "run it as root (sudo modelfs demo) on a machine with /dev/fuse (modprobe fuse)",
		});
	}
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
	const out: string[] = [];
	for (const name of (await readdir(dir)).sort()) {
		const p = join(dir, name);
		if ((await lstat(p)).isDirectory()) out.push(...(await listFiles(p, base)));
		else out.push(relative(base, p));
	}
	return out;
}

/** Reads a whole file in 16 MiB pieces; `buf` (16 MiB, touched) keeps allocating and faulting it in out of the timing. */
async function timedRead(path: string, buf: Buffer = Buffer.alloc(16 << 20)): Promise<{ bytes: number; seconds: number }> {
	const fh = await open(path, "r");
	const started = process.hrtime.bigint();
	let bytes = 0;
	try {
		for (;;) {
			const { bytesRead } = await fh.read(buf, 0, buf.length, bytes);
			if (bytesRead === 0) break;
			bytes += bytesRead;
		}
	} finally {
		await fh.close();
	}
	return { bytes, seconds: Math.max(Number(process.hrtime.bigint() - started) / 1e9, 1e-9) };
}

async function sha256(path: string): Promise<string> {
	const h = createHash("sha256");
	const fh = await open(path, "r");
	try {
		for await (const chunk of fh.createReadStream({ highWaterMark: 4 << 20 })) h.update(chunk as Buffer);
	} finally {
		await fh.close().catch(() => undefined);
	}
	return h.digest("hex");
}

async function exists(path: string): Promise<boolean> {
	return stat(path).then(
		() => true,
		() => false,
	);
}

function median(values: number[]): number {
	const s = [...values].sort((a, b) => a - b);
	const mid = s.length >> 1;
	return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
