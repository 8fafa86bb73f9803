/** What a view prefetches by default: the weight files loaders map. */
export const DEFAULT_PREFETCH_PATTERNS: readonly string[] = ["*.safetensors", "*.bin", "*.pt", "*.pth", "*.gguf"];

export interface MatchesPrefetchParams {
	/** The file's path in its repo (`/`-separated). */
	path: string;
	/** Shell-style patterns (`*` any run of characters, `?` one); matched against the file's name and its whole path. */
	patterns: readonly string[];
}

const compiled = new Map<string, RegExp>();

/** Whether a view file is a weight file the daemon reads ahead on open. */
export function matchesPrefetch(params: MatchesPrefetchParams): boolean {
	const name = params.path.slice(params.path.lastIndexOf("/") + 1);
	return params.patterns.some((p) => {
		let re = compiled.get(p);
		if (re === undefined) {
			re = new RegExp(
				`^${p
					.replace(/[.+^${}()|[\]\\]/g, "\\$&")
					.replace(/\*/g, ".*")
					.replace(/\?/g, ".")}$`,
				"s",
			);
			compiled.set(p, re);
		}
		return re.test(name) || re.test(params.path);
	});
}
