import { mkdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { BenchSession } from "./BenchSession.js";

const source = fileURLToPath(new URL("../loadgen.c", import.meta.url));
const buildDir = fileURLToPath(new URL("../build/", import.meta.url));

export interface BuildLoadgenParams {
	session: BenchSession;
	/** C compiler. @default $CC or "cc" */
	cc?: string;
}

/**
 * Compiles bench/loadgen.c into bench/build/loadgen (gitignored) unless the
 * binary is newer than the source, and returns its path.
 */
export async function buildLoadgen(params: BuildLoadgenParams): Promise<string> {
	const binary = `${buildDir}loadgen`;
	mkdirSync(buildDir, { recursive: true });
	const fresh = (() => {
		try {
			return statSync(binary).mtimeMs >= statSync(source).mtimeMs;
		} catch {
			return false;
		}
	})();
	if (!fresh) {
		const cc = params.cc ?? process.env.CC ?? "cc";
		await params.session.run(cc, ["-O2", "-pthread", "-Wall", "-Wextra", "-o", binary, source]).catch((err: Error) => {
			throw new Error(`cannot compile bench/loadgen.c with ${cc} (install a C compiler: apt-get install build-essential): ${err.message}`);
		});
	}
	return binary;
}
