/**
 * The LMDB index of a store: one env at `<store>/index` with named DBs.
 * Digests are 32-byte (BLAKE3, sha256) or 20-byte (sha1) Buffers in keys;
 * composite keys are arrays. Only src/store/ writes it.
 *
 *   blobs         BLAKE3 (32 B)            -> { size, sha256, sha1, checkedAt, checkedCtimeMs }
 *   alias-sha256  sha256 (32 B)            -> BLAKE3 (32 B)
 *   alias-sha1    git sha1 (20 B)          -> BLAKE3 (32 B)
 *   repos         [type, name]             -> { refs: { branch/tag: commit } }
 *   snapshots     [type, name, commit]     -> { files: [{ path, blake3, size, etag }], createdAt }
 *   meta          "generation"             -> number, bumped by every snapshot/ref change
 */
import { type Database, open, type RootDatabase } from "lmdb";
import type { BlobRecord, RepoType, SnapshotFile } from "../StoreTypes.js";
import { quietLmdbWriteErrors } from "./quietLmdbWriteErrors.js";

/** Value of the `blobs` DB (key: BLAKE3 as 32 bytes). */
export interface BlobValue {
	size: number;
	sha256: Buffer;
	sha1: Buffer | null;
	checkedAt: number;
	/**
	 * ctime (ms) of the object when it was last hashed. Any write or chmod
	 * moves ctime, so verify re-hashes when it differs; comparing with the
	 * check's wall-clock time instead would miss writes in the same clock tick
	 * (file times come from a coarse clock).
	 */
	checkedCtimeMs?: number;
}

/** Value of the `repos` DB (key: [type, name]). */
export interface RepoValue {
	refs: Record<string, string>;
}

/** Value of the `snapshots` DB (key: [type, name, commit]). */
export interface SnapshotValue {
	files: SnapshotFile[];
	createdAt: number;
}

export type RepoKey = [RepoType, string];
export type SnapshotKey = [RepoType, string, string];

export function hexKey(hex: string): Buffer {
	return Buffer.from(hex, "hex");
}

export function toBlobRecord(blake3: string | Buffer, v: BlobValue): BlobRecord {
	return {
		blake3: typeof blake3 === "string" ? blake3 : blake3.toString("hex"),
		size: v.size,
		sha256: Buffer.from(v.sha256).toString("hex"),
		sha1: v.sha1 ? Buffer.from(v.sha1).toString("hex") : null,
		checkedAt: v.checkedAt,
	};
}

export class StoreIndex {
	readonly env: RootDatabase;
	readonly blobs: Database<BlobValue, Buffer>;
	readonly sha256: Database<Buffer, Buffer>;
	readonly sha1: Database<Buffer, Buffer>;
	readonly repos: Database<RepoValue, RepoKey>;
	readonly snapshots: Database<SnapshotValue, SnapshotKey>;
	readonly meta: Database<number, string>;
	readonly readOnly: boolean;

	constructor(params: { path: string; readOnly: boolean }) {
		this.readOnly = params.readOnly;
		if (!params.readOnly) quietLmdbWriteErrors();
		this.env = open({ path: params.path, readOnly: params.readOnly, maxDbs: 16, compression: false });
		this.blobs = this.env.openDB<BlobValue, Buffer>({ name: "blobs", keyEncoding: "binary" });
		this.sha256 = this.env.openDB<Buffer, Buffer>({ name: "alias-sha256", keyEncoding: "binary", encoding: "binary" });
		this.sha1 = this.env.openDB<Buffer, Buffer>({ name: "alias-sha1", keyEncoding: "binary", encoding: "binary" });
		this.repos = this.env.openDB<RepoValue, RepoKey>({ name: "repos" });
		this.snapshots = this.env.openDB<SnapshotValue, SnapshotKey>({ name: "snapshots" });
		this.meta = this.env.openDB<number, string>({ name: "meta" });
	}

	generation(): number {
		return this.meta.get("generation") ?? 0;
	}

	getBlob(blake3: string): BlobRecord | null {
		const v = this.blobs.get(hexKey(blake3));
		return v ? toBlobRecord(blake3, v) : null;
	}

	async close(): Promise<void> {
		await this.env.close();
	}
}
