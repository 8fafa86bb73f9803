import { readFile } from "node:fs/promises";

export interface ReadFileIfExistsParams {
	path: string;
}

/**
 * The bytes of a file, or null when it does not exist (a mount's runtime
 * files and an overlay's record come and go); every other error throws.
 */
export async function readFileIfExists(params: ReadFileIfExistsParams): Promise<Buffer | null> {
	try {
		return await readFile(params.path);
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
		throw err;
	}
}
