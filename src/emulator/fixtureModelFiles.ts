import { makeSafetensors } from "./makeSafetensors.js";

export interface FixtureModelFilesParams {
	/** Seeds the weights: two fixtures with the same seed share their safetensors bytes. @default "tiny" */
	seed?: string;
	/** Goes into config.json, so fixtures with different variants differ there. @default "base" */
	variant?: string;
	/** Hidden size of the tiny model (weights grow with its square). @default 16 */
	hidden?: number;
}

export interface FixtureModelFiles {
	/** The first commit: every file. */
	first: Record<string, string | Buffer>;
	/** The second commit, on top of the first: changed and added files. */
	second: Record<string, string | Buffer>;
}

/**
 * The files of a tiny, valid model repository in the shape real ones have:
 * config.json, tokenizer files, a README, a valid safetensors file (LFS), a
 * nested folder with its own weights, and a second commit that changes
 * config.json and adds a file (so `main` moves).
 */
export function fixtureModelFiles(params: FixtureModelFilesParams = {}): FixtureModelFiles {
	const seed = params.seed ?? "tiny";
	const variant = params.variant ?? "base";
	const hidden = params.hidden ?? 16;
	if (!Number.isInteger(hidden) || hidden < 1) throw new TypeError("fixtureModelFiles: `hidden` must be a positive integer");
	const vocab = ["<pad>", "<s>", "</s>", "<unk>", "hello", "world", "model", "fs"];
	const config = {
		architectures: ["LlamaForCausalLM"],
		model_type: "llama",
		hidden_size: hidden,
		intermediate_size: hidden * 2,
		num_attention_heads: 2,
		num_hidden_layers: 1,
		vocab_size: vocab.length,
		torch_dtype: "float32",
		modelfs_fixture: variant,
	};
	const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;
	const weights = makeSafetensors({
		seed,
		tensors: [
			{ name: "model.embed_tokens.weight", dtype: "F32", shape: [vocab.length, hidden] },
			{ name: "model.layers.0.mlp.up_proj.weight", dtype: "F32", shape: [hidden * 2, hidden] },
			{ name: "model.layers.0.mlp.down_proj.weight", dtype: "F32", shape: [hidden, hidden * 2] },
			{ name: "model.norm.weight", dtype: "F32", shape: [hidden] },
			{ name: "lm_head.weight", dtype: "F32", shape: [vocab.length, hidden] },
		],
	});
	const dense = makeSafetensors({ seed: `${seed}/dense`, tensors: [{ name: "linear.weight", dtype: "F16", shape: [hidden, hidden] }] });
	const first: Record<string, string | Buffer> = {
		"README.md": `# modelfs fixture (${variant})\n\nA tiny generated model for tests; its weights mean nothing.\n`,
		"config.json": json(config),
		"generation_config.json": json({ bos_token_id: 1, eos_token_id: 2, max_new_tokens: 16 }),
		"tokenizer.json": json({
			version: "1.0",
			model: { type: "WordLevel", vocab: Object.fromEntries(vocab.map((t, i) => [t, i])), unk_token: "<unk>" },
		}),
		"tokenizer_config.json": json({ bos_token: "<s>", eos_token: "</s>", pad_token: "<pad>", model_max_length: 64 }),
		"special_tokens_map.json": json({ bos_token: "<s>", eos_token: "</s>", unk_token: "<unk>", pad_token: "<pad>" }),
		"model.safetensors": weights,
		"2_Dense/config.json": json({ in_features: hidden, out_features: hidden, bias: false }),
		"2_Dense/model.safetensors": dense,
	};
	const second: Record<string, string | Buffer> = {
		"config.json": json({ ...config, torch_dtype: "bfloat16" }),
		"merges.txt": "#version: 0.2\nh e\nw o\n",
	};
	return { first, second };
}
