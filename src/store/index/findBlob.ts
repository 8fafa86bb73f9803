import type { Store } from "../Store.js";
import type { BlobRecord } from "../StoreTypes.js";
import { hexKey, toBlobRecord } from "./StoreIndex.js";

export interface FindBlobParams {
	/** An open store (with its index). */
	store: Store;
	/** Look up by store key (64 hex). */
	blake3?: string;
	/** Look up by the `sha256:<hex>` alias (64 hex, the LFS oid). */
	sha256?: string;
	/** Look up by the `sha1:<hex>` alias (40 hex, the git blob oid). */
	sha1?: string;
}

const HEX = { blake3: /^[0-9a-f]{64}$/, sha256: /^[0-9a-f]{64}$/, sha1: /^[0-9a-f]{40}$/ } as const;

/**
 * The index record of a blob, found by BLAKE3 or by a sha256/sha1 alias, or
 * null when the store does not have it. Without an index (read-only mount)
 * every lookup is null: callers then fetch or copy as if it were new.
 */
export function findBlob(params: FindBlobParams): BlobRecord | null {
	const keys = (["blake3", "sha256", "sha1"] as const).filter((k) => params[k] !== undefined);
	if (keys.length !== 1) throw new TypeError("findBlob: give exactly one of `blake3`, `sha256`, `sha1`");
	const which = keys[0];
	const hex = (params[which] as string).toLowerCase();
	if (!HEX[which].test(hex)) throw new TypeError(`findBlob: \`${which}\` is not a ${which === "sha1" ? 40 : 64}-hex digest: ${JSON.stringify(params[which])}`);
	const index = params.store.index;
	if (!index) return null;
	let blake3: Buffer | undefined;
	if (which === "blake3") blake3 = hexKey(hex);
	else blake3 = (which === "sha256" ? index.sha256 : index.sha1).getBinary(hexKey(hex)) ?? undefined;
	if (!blake3) return null;
	const value = index.blobs.get(Buffer.from(blake3));
	return value ? toBlobRecord(Buffer.from(blake3), value) : null;
}
