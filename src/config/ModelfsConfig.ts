import type { RepoId } from "../store/StoreTypes.js";
import type { ViewLayout } from "../view/buildViewTree.js";

/**
 * The config file (`/etc/modelfs/config.yaml`, YAML or JSON) as written by
 * the operator. See README "Config file".
 */
export interface ModelfsConfigFile {
	/** The shared store folder. */
	store: string;
	/** Node-local state folder (overlay upper/work). @default /var/lib/modelfs */
	stateDir?: string;
	views: ViewConfigFile[];
	backends?: BackendConfigFile[];
	/** Models to keep in the store (`modelfs sync`): repo ids or `{repo, type, revision, include, exclude}`. @default [] */
	models?: Array<string | { repo: string; type?: "model" | "dataset"; revision?: string; include?: string[]; exclude?: string[] }>;
	/** Prometheus metrics of every view `up` mounts. @default none */
	metrics?: { port: number; address?: string };
}

export interface ViewConfigFile {
	name: string;
	mountpoint: string;
	/** @default "hf" */
	layout?: ViewLayout;
	/** @default the longest prefix any of its backends asks for ("" when none) */
	prefix?: string;
	/** hf layout: regular files instead of symlinks. @default false */
	files?: boolean;
	/** template layout only. */
	template?: string;
	/** @default every repo of the store */
	repos?: string[];
	/**
	 * After each refresh in place, drop the kernel's unused dentries, so a
	 * name a backend looked up through its overlay while it was missing
	 * appears too (README, "Refresh"). @default false
	 */
	dropCaches?: boolean;
	/**
	 * Read files ahead into the page cache when they are opened: true for the
	 * weight files (`*.safetensors`, `*.bin`, `*.pt`, `*.pth`, `*.gguf`), or
	 * the patterns to use. @default false
	 */
	prefetch?: boolean | string[];
}

export interface BackendConfigFile {
	name: string;
	/** The backend's cache folder, unchanged (e.g. ~/spark-vllm-docker/cache). */
	target: string;
	/** Name of the view it reads. @default the only view */
	view?: string;
	/**
	 * Where the hub cache must appear inside `target`: `huggingface/hub` for a
	 * folder mounted at /root/.cache in the container, "" for a folder that is
	 * itself HF_HUB_CACHE. @default ""
	 */
	prefix?: string;
	/** @default <stateDir>/overlay/<hash of target>/upper */
	upper?: string;
	/** @default beside the default upper */
	work?: string;
	/** Create `target` when it does not exist (else a missing target is an error). @default false */
	create?: boolean;
}

/** The config after checks and defaults: every path absolute, every backend's lowerdir worked out. */
export interface ModelfsConfig {
	/** The file it was read from. */
	path: string;
	store: string;
	stateDir: string;
	views: ViewConfig[];
	backends: BackendConfig[];
	models: ModelConfig[];
	/** Metrics of the views `up` mounts, or null for none. */
	metrics: { port: number; address: string } | null;
}

/** One model `modelfs sync` keeps in the store. */
export interface ModelConfig {
	repo: RepoId;
	/** Branch, tag or commit. @default "main" */
	revision: string;
	/** fnmatch patterns; all files when empty. */
	include: string[];
	exclude: string[];
}

export interface ViewConfig {
	name: string;
	mountpoint: string;
	layout: ViewLayout;
	prefix: string;
	files: boolean;
	template?: string;
	repos?: string[];
	dropCaches: boolean;
	/** Patterns of the files read ahead on open; empty for none. */
	prefetch: string[];
}

export interface BackendConfig {
	name: string;
	target: string;
	view: string;
	prefix: string;
	/** The folder used as lowerdir: the view's mount point, or the part of it that puts the hub at `prefix`. */
	lower: string;
	upper?: string;
	work?: string;
	create: boolean;
}
