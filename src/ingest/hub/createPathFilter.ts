export interface CreatePathFilterParams {
	/** Keep only paths matching one of these (all paths when empty). */
	include?: string[];
	/** Then drop paths matching one of these. */
	exclude?: string[];
}

/**
 * A predicate over repo paths for `--include` / `--exclude`, with the same
 * pattern rules as `hf download --include` (Python fnmatch): `*` matches any
 * run of characters including `/`, `?` one character, `[abc]` / `[!abc]` a
 * class; a pattern ending in `/` matches everything under that folder.
 * So `*.safetensors` also matches `sub/model.safetensors`.
 */
export function createPathFilter(params: CreatePathFilterParams = {}): (path: string) => boolean {
	const inc = (params.include ?? []).map(compile);
	const exc = (params.exclude ?? []).map(compile);
	return (path: string) => (inc.length === 0 || inc.some((r) => r.test(path))) && !exc.some((r) => r.test(path));
}

function compile(pattern: string): RegExp {
	if (typeof pattern !== "string" || pattern === "") throw new TypeError("createPathFilter: patterns must be non-empty strings");
	const p = pattern.endsWith("/") ? `${pattern}*` : pattern;
	let out = "";
	for (let i = 0; i < p.length; i++) {
		const c = p[i];
		if (c === "*") out += ".*";
		else if (c === "?") out += ".";
		else if (c === "[") {
			const close = p.indexOf("]", i + 2);
			if (close === -1) {
				out += "\\[";
				continue;
			}
			let body = p.slice(i + 1, close);
			const negate = body.startsWith("!");
			if (negate) body = body.slice(1);
			out += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
			i = close;
		} else out += c.replace(/[.+^${}()|\\/]/g, "\\$&");
	}
	return new RegExp(`^${out}$`, "s");
}
