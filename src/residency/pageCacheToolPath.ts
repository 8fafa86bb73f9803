import { accessSync, constants } from "node:fs";
import { fileURLToPath } from "node:url";
import { ModelfsError } from "../errors.js";

/**
 * Path of the `modelfs-page-cache` helper: `$MODELFS_PAGE_CACHE`, else
 * `tools/page-cache/build/modelfs-page-cache` of this package (src/residency
 * and dist/residency are both two levels below the package root). Throws
 * when it is not built.
 */
export function pageCacheToolPath(): string {
	const path = process.env.MODELFS_PAGE_CACHE || fileURLToPath(new URL("../../tools/page-cache/build/modelfs-page-cache", import.meta.url));
	try {
		accessSync(path, constants.X_OK);
	} catch (err) {
		throw new ModelfsError("PAGE_CACHE_TOOL_MISSING", `the page-cache helper ${path} is not built`, {
			cause: err,
			hint: "build it with `npm install` (runs `make -C tools/page-cache`; needs cc and make)",
		});
	}
	return path;
}
