import { Command, InvalidArgumentError } from "commander";
import { createHash } from "node:crypto";
import { accessSync, constants } from "node:fs";
import { lstat, mkdir, mkdtemp, open, readdir, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { makeSafetensors, startHubEmulator, type RunningHubEmulator, type SafetensorsTensorSpec } from "../emulator/index.js";
import { MountError } from "../errors.js";
import { ingestRepo } from "../ingest/ingestRepo.js";
import { startMount } from "../mount/startMount.js";
import { stopMount } from "../mount/stopMount.js";
import { overlayDown } from "../overlay/overlayDown.js";
import { overlayUp } from "../overlay/overlayUp.js";
import { formatBytes } from "../progress/formatBytes.js";
import { blobPath } from "../store/blobPath.js";
import { openStore } from "../store/openStore.js";
import { readCatalog } from "../store/readCatalog.js";
import { buildViewTree } from "../view/buildViewTree.js";

const REPO = "modelfs-demo/tiny-llm";
const PREFIX = "huggingface/hub";

interface DemoOptions {
	size: number;
	keep?: boolean;
	json?: boolean;
}

/**
 * `modelfs demo`: the whole path, offline, in a temporary folder: a model
 * served by the bundled hub emulator, ingested into a store, shown by the
 * FUSE view, put under a backend's cache folder with overlayfs, loaded the
 * way huggingface_hub does offline, with a lock file landing in the local
 * upper layer. Everything is taken down at the end.
 */
export function demoCommand(): Command {
	return new Command("demo")
		.description("see it work, offline, as root: hub emulator -> ingest -> store -> FUSE view -> overlay under a backend folder -> offline load")
		.option("--size <MiB>", "size of the generated weights (two safetensors shards)", mib, 64)
		.option("--keep", "leave the temporary folder (store, upper layer) behind for a look; mounts are still taken down")
		.option("--json", "print the figures as JSON")
		.action(async (opts: DemoOptions) => {
			requireMountRights();
			const say = (line: string) => process.stdout.write(opts.json ? "" : `${line}\n`);
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
				await hub.hub.commit({ repo: REPO, files: demoModelFiles(opts.size) });
				say(`1. hub emulator at ${hub.url} serves ${REPO} (${opts.size} MiB of safetensors weights)`);

				// 2. Ingest into a fresh store.
				await (await openStore({ storeDir, create: true })).close();
				const ingest = await ingestRepo({ repo: { type: "model", name: REPO }, storeDir, hubUrl: hub.url });
				say(`2. ingested ${REPO}@${ingest.commit.slice(0, 12)} into ${storeDir}: ${ingest.files} files, ${formatBytes(ingest.downloadedBytes)} at ${formatBytes(ingest.bytesPerSecond)}/s, verified (sha256/git sha1)`);

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
				const index = JSON.parse(await readFile(join(snapshot, INDEX), "utf8")) as { weight_map: Record<string, string> };
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
				// Same file both ways, alternating, best of 3: the machine is shared, one run is noise.
				let overlayGBs = 0;
				let directGBs = 0;
				for (let i = 0; i < 3; i++) {
					const o = await timedRead(join(snapshot, big));
					const d = await timedRead(blobPath(storeDir, blake3));
					overlayGBs = Math.max(overlayGBs, o.bytes / o.seconds / 1e9);
					directGBs = Math.max(directGBs, d.bytes / d.seconds / 1e9);
				}
				say(`   read ${formatBytes(bytes)} through the overlay in ${seconds.toFixed(2)} s`);
				say(`   ${big}: ${overlayGBs.toFixed(2)} GB/s through overlay+view, ${directGBs.toFixed(2)} GB/s reading the blob directly (${(overlayGBs / directGBs).toFixed(2)}x, page cache warm, best of 3)`);

				// 6. A lock file, as huggingface_hub takes one: lands in upper, never in the view.
				const lockDir = join(hubCache, ".locks", `models--${REPO.replace("/", "--")}`);
				await mkdir(lockDir, { recursive: true });
				await writeFile(join(lockDir, `${"0".repeat(64)}.lock`), "");
				const inUpper = await exists(join(up.upper, PREFIX, ".locks", `models--${REPO.replace("/", "--")}`, `${"0".repeat(64)}.lock`));
				const inView = await exists(join(view, PREFIX, ".locks"));
				say(`6. wrote ${relative(backend, join(lockDir, `${"0".repeat(64)}.lock`))}: in upper ${inUpper ? "yes" : "NO"}, in the read-only view ${inView ? "YES" : "no"}`);
				if (!inUpper || inView) throw new MountError("DEMO_LOCK_MISPLACED", "the lock file did not land in the upper layer only");

				if (opts.json) {
					process.stdout.write(
						`${JSON.stringify({ repo: REPO, commit, files: files.length, tensors, bytesRead: bytes, ingest: { downloadedBytes: ingest.downloadedBytes, bytesPerSecond: ingest.bytesPerSecond }, overlayGBs, directGBs, ratio: overlayGBs / directGBs, lockInUpper: inUpper })}\n`,
					);
				}
			} finally {
				// 7. Take everything down, in reverse.
				if (overlaid) await overlayDown({ target: backend, stateDir }).catch((err: Error) => process.stderr.write(`modelfs: ${err.message}\n`));
				if (mounted) await stopMount({ mountpoint: view, runRoot }).catch((err: Error) => process.stderr.write(`modelfs: ${err.message}\n`));
				await hub?.close();
				if (opts.keep) process.stderr.write(`modelfs: kept ${root}\n`);
				else await rm(root, { recursive: true, force: true });
			}
			say(`7. cleaned up: overlay and view unmounted, hub emulator stopped${opts.keep ? `, ${root} kept` : ", temporary folder removed"}`);
		});
}

function mib(value: string): number {
	const n = Number(value);
	// Each shard is built in memory (makeSafetensors returns a Buffer).
	if (!Number.isInteger(n) || n < 1 || n > 4096) throw new InvalidArgumentError("expected a size in MiB from 1 to 4096");
	return n;
}

const INDEX = "model.safetensors.index.json";
const SHARDS = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];

/**
 * A small MLP-only Llama-shaped model in BF16 with `sizeMiB` of tensor data
 * in two shards of equal size (each tensor a multiple of 256 KiB), its
 * index, config and tokenizer.
 */
function demoModelFiles(sizeMiB: number): Record<string, string | { content: Buffer; lfs: true }> {
	const hidden = 256;
	const intermediate = 512;
	const vocab = 1024;
	const layers = 2 * sizeMiB - 2;
	const layer = (i: number): SafetensorsTensorSpec[] => [
		{ name: `model.layers.${i}.mlp.up_proj.weight`, dtype: "BF16", shape: [intermediate, hidden] },
		{ name: `model.layers.${i}.mlp.down_proj.weight`, dtype: "BF16", shape: [hidden, intermediate] },
	];
	const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => layer(from + k)).flat();
	const shardTensors: SafetensorsTensorSpec[][] = [
		[{ name: "model.embed_tokens.weight", dtype: "BF16", shape: [vocab, hidden] }, ...range(0, layers / 2)],
		[...range(layers / 2, layers), { name: "model.norm.weight", dtype: "BF16", shape: [hidden] }, { name: "lm_head.weight", dtype: "BF16", shape: [vocab, hidden] }],
	];
	const weightMap: Record<string, string> = {};
	const files: Record<string, string | { content: Buffer; lfs: true }> = {};
	let totalSize = 0;
	shardTensors.forEach((tensors, i) => {
		const content = makeSafetensors({ tensors, seed: `demo-${i + 1}` });
		for (const t of tensors) {
			weightMap[t.name] = SHARDS[i];
			totalSize += t.shape.reduce((a, b) => a * b, 1) * 2;
		}
		files[SHARDS[i]] = { content, lfs: true };
	});
	const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
	files[INDEX] = json({ metadata: { total_size: totalSize }, weight_map: weightMap });
	files["config.json"] = json({
		architectures: ["LlamaForCausalLM"],
		model_type: "llama",
		hidden_size: hidden,
		intermediate_size: intermediate,
		num_hidden_layers: layers,
		vocab_size: vocab,
		torch_dtype: "bfloat16",
	});
	files["generation_config.json"] = `${JSON.stringify({ bos_token_id: 1, eos_token_id: 2 })}\n`;
	files["tokenizer.json"] = `${JSON.stringify({ version: "1.0", model: { type: "WordLevel", vocab: { "<unk>": 0, hello: 1 } } })}\n`;
	return files;
}

const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/**
 * Opens a safetensors file the way a loader does: the 8-byte little-endian
 * header length, the JSON header, then every tensor's dtype, shape and
 * data_offsets, which must tile the data after the header exactly; the last
 * byte of every tensor must read. The header must name exactly `tensors`.
 * Returns how many tensors it holds; throws DEMO_BAD_SAFETENSORS otherwise.
 */
async function checkSafetensors(params: { path: string; tensors: string[] }): Promise<number> {
	const { path } = params;
	const bad = (why: string) => new MountError("DEMO_BAD_SAFETENSORS", `${path} read through the overlay is not valid safetensors: ${why}`);
	const fh = await open(path, "r");
	try {
		const size = (await fh.stat()).size;
		const head = Buffer.alloc(8);
		if ((await fh.read(head, 0, 8, 0)).bytesRead !== 8) throw bad("shorter than the 8-byte header length");
		const headerLength = Number(head.readBigUInt64LE(0));
		// safetensors refuses headers over 100 MB.
		if (headerLength > 100_000_000 || 8 + headerLength > size) throw bad(`header length ${headerLength} does not fit in ${size} bytes`);
		const headerBytes = Buffer.alloc(headerLength);
		if ((await fh.read(headerBytes, 0, headerLength, 8)).bytesRead !== headerLength) throw bad("short read of the header");
		let header: Record<string, { dtype?: unknown; shape?: unknown; data_offsets?: unknown }>;
		try {
			header = JSON.parse(headerBytes.toString("utf8"));
		} catch (err) {
			throw bad(`the header is not JSON (${(err as Error).message})`);
		}
		const entries = Object.entries(header).filter(([name]) => name !== "__metadata__");
		const names = entries.map(([name]) => name).sort();
		const want = [...params.tensors].sort();
		if (names.join("\n") !== want.join("\n")) throw bad(`it holds ${names.length} tensors, the index names ${want.length} for it`);
		const ranges: Array<[number, number, string]> = [];
		for (const [name, t] of entries) {
			const width = typeof t.dtype === "string" ? DTYPE_BYTES[t.dtype] : undefined;
			if (width === undefined) throw bad(`${name} has an unknown dtype ${String(t.dtype)}`);
			if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`${name} has a bad shape`);
			const offsets = t.data_offsets;
			if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) throw bad(`${name} has bad data_offsets`);
			const [begin, end] = offsets as [number, number];
			const bytes = (t.shape as number[]).reduce((a, b) => a * b, 1) * width;
			if (end - begin !== bytes) throw bad(`${name} spans ${end - begin} bytes, its ${t.dtype} ${JSON.stringify(t.shape)} needs ${bytes}`);
			ranges.push([begin, end, name]);
		}
		ranges.sort((a, b) => a[0] - b[0]);
		let at = 0;
		for (const [begin, end, name] of ranges) {
			if (begin !== at) throw bad(`${name} starts at ${begin}, the tensor before it ends at ${at}`);
			at = end;
		}
		const dataStart = 8 + headerLength;
		if (dataStart + at !== size) throw bad(`the tensors end at byte ${dataStart + at}, the file has ${size}`);
		const one = Buffer.alloc(1);
		for (const [begin, end, name] of ranges) {
			if (end > begin && (await fh.read(one, 0, 1, dataStart + end - 1)).bytesRead !== 1) throw bad(`the last byte of ${name} cannot be read`);
		}
		return ranges.length;
	} finally {
		await fh.close();
	}
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

async function timedRead(path: string): Promise<{ bytes: number; seconds: number }> {
	const fh = await open(path, "r");
	const buf = Buffer.allocUnsafe(16 << 20);
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
