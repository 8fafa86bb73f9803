import { StoreError } from "../../errors.js";
import type { HashResult } from "../../hash/HashMessages.js";

/** What the caller expects of the bytes (from the hub, or from a cache's blob name). */
export interface BlobExpectation {
	size?: number;
	sha256?: string;
	sha1?: string;
}

function mismatch(label: string, what: string, expected: string | number, got: string | number): StoreError {
	return new StoreError("STORE_HASH_MISMATCH", `${label}: ${what} mismatch: expected ${expected}, got ${got}`, {
		hint: "the source is corrupt or changed while it was read; nothing of it was stored",
	});
}

/** Throws STORE_HASH_MISMATCH if the digests disagree with `expect`. */
export function checkExpectation(label: string, hashes: HashResult, expect: BlobExpectation | undefined): void {
	if (!expect) return;
	if (expect.size !== undefined && expect.size !== hashes.size) throw mismatch(label, "size", expect.size, hashes.size);
	if (expect.sha256 !== undefined && hashes.sha256 !== null && expect.sha256.toLowerCase() !== hashes.sha256) throw mismatch(label, "sha256", expect.sha256, hashes.sha256);
	if (expect.sha1 !== undefined && hashes.sha1 !== null && expect.sha1.toLowerCase() !== hashes.sha1) throw mismatch(label, "git sha1", expect.sha1, hashes.sha1);
}
