import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { STORE_PATHS } from "../storeFormat.js";

/** One file found under objects/. */
export interface ObjectEntry {
	blake3: string;
	path: string;
	size: number;
	mtimeMs: number;
}

const HEX2 = /^[0-9a-f]{2}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** Walks `<store>/objects/<2 hex>/<64 hex>` (other names are ignored); an async generator so callers can stop early. */
export async function* listObjects(storeDir: string): AsyncGenerator<ObjectEntry> {
	const root = join(storeDir, STORE_PATHS.objects);
	let prefixes: string[];
	try {
		prefixes = (await readdir(root)).filter((n) => HEX2.test(n)).sort();
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
		throw err;
	}
	for (const prefix of prefixes) {
		const names = await readdir(join(root, prefix)).catch((err: NodeJS.ErrnoException) => {
			if (err.code === "ENOENT") return [] as string[];
			throw err;
		});
		for (const name of names.sort()) {
			if (!HEX64.test(name) || !name.startsWith(prefix)) continue;
			const path = join(root, prefix, name);
			const st = await stat(path).catch(() => null);
			if (st?.isFile()) yield { blake3: name, path, size: st.size, mtimeMs: st.mtimeMs };
		}
	}
}
