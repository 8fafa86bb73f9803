import { join } from "node:path";

const HEX64 = /^[0-9a-f]{64}$/;

/** `<storeDir>/objects/<2 hex>/<64 hex>`: the one place a blob's path is made. */
export function blobPath(storeDir: string, blake3: string): string {
	if (!HEX64.test(blake3)) throw new TypeError(`blobPath: \`blake3\` must be 64 lowercase hex characters, got ${JSON.stringify(blake3)}`);
	return join(storeDir, "objects", blake3.slice(0, 2), blake3);
}
