import { makeSafetensors, type SafetensorsTensorSpec } from "../emulator/index.js";

export const DEMO_INDEX = "model.safetensors.index.json";
const SHARDS = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];

/**
 * A small MLP-only Llama-shaped model in BF16 with `sizeMiB` of tensor data
 * in two shards of equal size (each tensor a multiple of 256 KiB), its
 * index, config and tokenizer.
 */
export function demoModelFiles(sizeMiB: number): Record<string, string | { content: Buffer; lfs: true }> {
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
	files[DEMO_INDEX] = json({ metadata: { total_size: totalSize }, weight_map: weightMap });
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
