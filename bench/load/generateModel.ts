import { randomFillSync } from "node:crypto";
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";

export interface GenerateModelParams {
	/** Folder to write the model into (created). */
	dir: string;
	/** Total bytes of tensor data to write, split over the shards. */
	totalBytes: number;
	/** Number of safetensors shards. @default 4 */
	shards?: number;
}

export interface GeneratedModel {
	/** Paths of the safetensors shards, relative to `dir`, in load order. */
	weights: string[];
	/** Every file written, relative to `dir`. */
	files: string[];
	/** Bytes of all safetensors shards (headers included). */
	weightBytes: number;
}

interface Tensor {
	name: string;
	shape: number[];
	bytes: number;
}

/**
 * Writes a model folder shaped like a Hugging Face checkpoint: BF16 tensors
 * of a transformer's layers in `model-0000k-of-0000N.safetensors` shards
 * (8-byte little-endian header length, JSON header padded to 8 bytes,
 * tensor data), the index JSON, config.json and a tokenizer file. Tensor
 * bytes are random so no layer can compress or deduplicate them.
 */
export function generateModel(params: GenerateModelParams): GeneratedModel {
	const shards = params.shards ?? 4;
	if (!(params.totalBytes > 0)) throw new TypeError("totalBytes: expected a positive number");
	if (!Number.isInteger(shards) || shards < 1) throw new TypeError("shards: expected a positive integer");
	mkdirSync(params.dir, { recursive: true });
	// Real shapes (a 1-3B model's layers) for runs of a GiB or more; small
	// ones so that --quick still has many tensors per shard.
	const hidden = params.totalBytes >= 512 * 2 ** 20 ? 2048 : 512;
	const inter = Math.round((hidden * 11) / 4);
	const shardTarget = Math.ceil(params.totalBytes / shards);
	const plan: Tensor[][] = [];
	let current: Tensor[] = [];
	let currentBytes = 0;
	let total = 0;
	for (let layer = 0; total < params.totalBytes; layer++) {
		for (const t of layerTensors(layer, hidden, inter)) {
			if (total >= params.totalBytes) break;
			if (currentBytes > 0 && currentBytes + t.bytes > shardTarget && plan.length < shards - 1) {
				plan.push(current);
				current = [];
				currentBytes = 0;
			}
			current.push(t);
			currentBytes += t.bytes;
			total += t.bytes;
		}
	}
	plan.push(current);

	const weights: string[] = [];
	const weightMap: Record<string, string> = {};
	let weightBytes = 0;
	const chunk = Buffer.allocUnsafe(16 * 2 ** 20);
	plan.forEach((tensors, i) => {
		const name = `model-${String(i + 1).padStart(5, "0")}-of-${String(plan.length).padStart(5, "0")}.safetensors`;
		weights.push(name);
		const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
		let offset = 0;
		for (const t of tensors) {
			header[t.name] = { dtype: "BF16", shape: t.shape, data_offsets: [offset, offset + t.bytes] };
			weightMap[t.name] = name;
			offset += t.bytes;
		}
		let json = JSON.stringify(header);
		json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
		const head = Buffer.alloc(8);
		head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
		const fd = openSync(join(params.dir, name), "w");
		try {
			writeSync(fd, head);
			writeSync(fd, json);
			for (let left = offset; left > 0; ) {
				const n = Math.min(left, chunk.length);
				randomFillSync(chunk, 0, n);
				writeSync(fd, chunk, 0, n);
				left -= n;
			}
		} finally {
			closeSync(fd);
		}
		weightBytes += 8 + Buffer.byteLength(json) + offset;
	});

	writeFileSync(join(params.dir, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
	writeFileSync(
		join(params.dir, "config.json"),
		JSON.stringify({ architectures: ["LlamaForCausalLM"], hidden_size: hidden, intermediate_size: inter, torch_dtype: "bfloat16" }, null, 2),
	);
	const vocab: Record<string, number> = {};
	for (let i = 0; i < 4000; i++) vocab[`tok${i.toString(36)}`] = i;
	writeFileSync(join(params.dir, "tokenizer.json"), JSON.stringify({ model: { type: "BPE", vocab } }));
	return { weights, files: [...weights, "model.safetensors.index.json", "config.json", "tokenizer.json"], weightBytes };
}

function layerTensors(layer: number, hidden: number, inter: number): Tensor[] {
	const p = `model.layers.${layer}`;
	const t = (name: string, shape: number[]): Tensor => ({ name: `${p}.${name}`, shape, bytes: shape.reduce((a, b) => a * b, 2) });
	return [
		t("input_layernorm.weight", [hidden]),
		t("self_attn.q_proj.weight", [hidden, hidden]),
		t("self_attn.k_proj.weight", [hidden / 4, hidden]),
		t("self_attn.v_proj.weight", [hidden / 4, hidden]),
		t("self_attn.o_proj.weight", [hidden, hidden]),
		t("post_attention_layernorm.weight", [hidden]),
		t("mlp.gate_proj.weight", [inter, hidden]),
		t("mlp.up_proj.weight", [inter, hidden]),
		t("mlp.down_proj.weight", [hidden, inter]),
	];
}
