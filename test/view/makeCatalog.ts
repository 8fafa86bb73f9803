import { createHash } from "node:crypto";
import type { Catalog, CatalogRepo, RepoType, SnapshotFile } from "../../src/store/StoreTypes.js";

/** A fake (but well-formed) hex digest derived from a label. */
export function hex(label: string, length = 64): string {
	return createHash("sha256").update(label).digest("hex").repeat(2).slice(0, length);
}

export interface FakeFile {
	path: string;
	/** Content label: equal labels mean equal content (same blake3/etag). */
	content: string;
	lfs?: boolean;
}

/** One repo: refs name -> commit label, snapshots commit label -> files. */
export function makeRepo(params: { name: string; type?: RepoType; refs?: Record<string, string>; snapshots: Record<string, FakeFile[]> }): CatalogRepo {
	const commit = (label: string) => hex(`commit:${label}`, 40);
	const file = (f: FakeFile): SnapshotFile => ({
		path: f.path,
		blake3: hex(`blake3:${f.content}`),
		size: f.content.length * 100,
		etag: f.lfs ? hex(`sha256:${f.content}`) : hex(`sha1:${f.content}`, 40),
	});
	return {
		type: params.type ?? "model",
		name: params.name,
		refs: Object.fromEntries(Object.entries(params.refs ?? {}).map(([ref, label]) => [ref, commit(label)])),
		snapshots: Object.entries(params.snapshots).map(([label, files]) => ({ commit: commit(label), files: files.map(file) })),
	};
}

export function makeCatalog(repos: CatalogRepo[]): Catalog {
	return { format: 1, generation: 1, createdAt: new Date(0).toISOString(), repos };
}

/** Two models sharing a tokenizer, one with two commits, and a dataset. */
export function sampleCatalog(): Catalog {
	return makeCatalog([
		makeRepo({
			name: "org/model-a",
			refs: { main: "a2", "v1.0": "a1", "pr/1": "a1" },
			snapshots: {
				a1: [
					{ path: "config.json", content: "config-a1" },
					{ path: "model.safetensors", content: "weights-a1", lfs: true },
					{ path: "tokenizer.json", content: "tokenizer" },
				],
				a2: [
					{ path: "config.json", content: "config-a2" },
					{ path: "model.safetensors", content: "weights-a1", lfs: true },
					{ path: "tokenizer.json", content: "tokenizer" },
					{ path: "onnx/sub/model.onnx", content: "onnx", lfs: true },
				],
			},
		}),
		makeRepo({
			name: "gpt2",
			refs: { main: "g1" },
			snapshots: {
				g1: [
					{ path: "config.json", content: "gpt2-config" },
					{ path: "tokenizer.json", content: "tokenizer" },
				],
			},
		}),
		makeRepo({
			name: "org/data",
			type: "dataset",
			refs: { main: "d1" },
			snapshots: { d1: [{ path: "data/train.parquet", content: "train", lfs: true }] },
		}),
	]);
}
