import { createHash } from "node:crypto";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface ModelFile {
	path: string;
	bytes: Buffer;
	/** Stored in LFS (blob named by sha256); else named by git sha1, as huggingface_hub does. */
	lfs: boolean;
}

/** Deterministic bytes of a given size: a 4 KiB pattern from the seed, each 4 KiB numbered. */
export function fill(seed: string, size: number): Buffer {
	const pattern = Buffer.alloc(4096);
	let block = createHash("sha512").update(seed).digest();
	for (let off = 0; off < pattern.length; off += block.length) {
		block.copy(pattern, off);
		block = createHash("sha512").update(block).digest();
	}
	const out = Buffer.alloc(size);
	for (let off = 0, n = 0; off < size; off += 4096, n++) {
		pattern.copy(out, off);
		if (off + 4 <= size) out.writeUInt32LE(n, off);
	}
	return out;
}

/** A small model as the hub would serve it: a config, a tokenizer, two weight shards. */
export function modelFiles(seed: string, shard = 2 << 20): ModelFile[] {
	return [
		{ path: "config.json", bytes: Buffer.from(`{"model":"${seed}"}`), lfs: false },
		{ path: "tokenizer.json", bytes: fill(`${seed}-tok`, 70_001 + (shard % 1000)), lfs: false },
		{ path: "model-00001-of-00002.safetensors", bytes: fill(`${seed}-1`, shard), lfs: true },
		{ path: "model-00002-of-00002.safetensors", bytes: fill(`${seed}-2`, shard + 4096), lfs: true },
	];
}

export function etagOf(f: ModelFile): string {
	if (f.lfs) return createHash("sha256").update(f.bytes).digest("hex");
	return createHash("sha1").update(`blob ${f.bytes.length}\0`).update(f.bytes).digest("hex");
}

/** Writes `models--org--name` under `hub` as huggingface_hub leaves it: blobs by etag, snapshot symlinks, refs/main. */
export function writeHfRepo(params: { hub: string; repo: string; commit: string; files: ModelFile[] }): string {
	const root = join(params.hub, `models--${params.repo.replaceAll("/", "--")}`);
	mkdirSync(join(root, "blobs"), { recursive: true });
	mkdirSync(join(root, "refs"), { recursive: true });
	for (const f of params.files) {
		const etag = etagOf(f);
		writeFileSync(join(root, "blobs", etag), f.bytes);
		const link = join(root, "snapshots", params.commit, f.path);
		mkdirSync(dirname(link), { recursive: true });
		symlinkSync(`${"../".repeat(2 + f.path.split("/").length - 1)}blobs/${etag}`, link);
	}
	writeFileSync(join(root, "refs", "main"), params.commit);
	return root;
}

/** A plain model folder (`hf download --local-dir`, a TensorRT-LLM checkpoint folder). */
export function writePlainFolder(dir: string, files: ModelFile[]): void {
	for (const f of files) {
		mkdirSync(dirname(join(dir, f.path)), { recursive: true });
		writeFileSync(join(dir, f.path), f.bytes);
	}
}
