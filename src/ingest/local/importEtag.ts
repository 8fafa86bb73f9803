import { basename } from "node:path";

/** Extensions the hub stores in LFS by default (its `.gitattributes` template). */
const LFS_EXTENSIONS = new Set([
	"7z",
	"arrow",
	"bin",
	"bz2",
	"ckpt",
	"ftz",
	"gguf",
	"gz",
	"h5",
	"joblib",
	"lz4",
	"mlmodel",
	"model",
	"msgpack",
	"npy",
	"npz",
	"onnx",
	"ot",
	"parquet",
	"pb",
	"pickle",
	"pkl",
	"pt",
	"pth",
	"rar",
	"safetensors",
	"tar",
	"tflite",
	"tgz",
	"wasm",
	"xz",
	"zip",
	"zst",
]);

/** The hub puts files of 10 MB or more in LFS whatever their name. */
const LFS_MIN_SIZE = 10 * 1000 * 1000;

export interface ImportEtagParams {
	/** Path inside the repo. */
	path: string;
	size: number;
	sha256: string;
	/** Git blob sha1; null when not computed (then the sha256 is used). */
	sha1: string | null;
	/** `*.ext` patterns marked `filter=lfs` in the folder's `.gitattributes`, if any. */
	lfsPatterns?: string[];
}

/**
 * The cache name (etag) of a file that came without one (a plain folder, or a
 * regular file in a snapshot): the LFS sha256 if the hub would have stored it
 * in LFS, else the git blob sha1, as `huggingface_hub` would name it.
 */
export function importEtag(params: ImportEtagParams): string {
	const name = basename(params.path);
	const ext = name.includes(".") ? name.slice(name.lastIndexOf(".") + 1).toLowerCase() : "";
	const byPattern = (params.lfsPatterns ?? []).some((p) => p === name || (p.startsWith("*.") && name.endsWith(p.slice(1))));
	const lfs = byPattern || LFS_EXTENSIONS.has(ext) || params.size >= LFS_MIN_SIZE;
	return lfs || params.sha1 === null ? params.sha256 : params.sha1;
}
