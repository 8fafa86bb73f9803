import { sep } from "node:path";

export interface IsInsideFolderParams {
	/** A real path (realpath). */
	path: string;
	/** A real folder path. */
	folder: string;
}

/** True when `path` is `folder` or lies below it: what an import may take through a symlink. */
export function isInsideFolder(params: IsInsideFolderParams): boolean {
	const { path, folder } = params;
	return path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);
}
