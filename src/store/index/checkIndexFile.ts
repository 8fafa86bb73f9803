import { open } from "node:fs/promises";
import { IndexError } from "../../errors.js";

/**
 * Byte layout of an LMDB data file as lmdb-js 3.x builds it (its bundled
 * dependencies/lmdb/libraries/liblmdb/mdb.c, 64-bit, no MDB_VL32, default
 * data format 2; checked against a hexdump of an index made by `modelfs init`).
 *
 * Every page starts with a 24-byte MDB_page_header: pgno u64 @0, txnid u64
 * @8, pad u16 @16, flags u16 @18 (P_META = 0x08), lower/upper u16 @20/22.
 * Pages 0 and 1 are meta pages; their MDB_meta follows the header:
 */
const PAGE_HEADER = 24;
const P_META = 0x08;
const META = {
	magic: PAGE_HEADER + 0, // u32, MDB_MAGIC
	version: PAGE_HEADER + 4, // u32, low 16 bits MDB_DATA_VERSION
	pageSize: PAGE_HEADER + 24, // u32, mm_dbs[FREE_DBI].md_pad = mm_psize
	lastPage: PAGE_HEADER + 120, // u64, mm_last_pg
	txnid: PAGE_HEADER + 128, // u64, mm_txnid
	end: PAGE_HEADER + 144, // sizeof(MDB_meta) = 144
} as const;
const MDB_MAGIC = 0xbeefc0de;
const MDB_DATA_VERSION = 2;
/** LMDB's own bounds on mm_psize (MAX_PAGESIZE is 0x10000 with a page header base). */
const MIN_PAGE_SIZE = 512;
const MAX_PAGE_SIZE = 0x10000;

export interface CheckIndexFileParams {
	/** Path of the LMDB data file, `<store>/index/data.mdb`. */
	path: string;
}

/** What the check read from a sound data file. */
export interface IndexFileInfo {
	pageSize: number;
	/** Bytes of the file when it was checked. */
	size: number;
	/** mm_last_pg and mm_txnid of the newer meta page. */
	lastPage: number;
	txnid: number;
}

interface Meta {
	pageSize: number;
	lastPage: number;
	txnid: number;
}

/** Why a meta page is unusable, or its fields; `page` is 0 or 1. */
function readMeta(buf: Buffer, page: number): Meta | string {
	const flags = buf.readUInt16LE(18);
	const magic = buf.readUInt32LE(META.magic);
	if (magic !== MDB_MAGIC) return `meta page ${page} has magic 0x${magic.toString(16).padStart(8, "0")}, not 0x${MDB_MAGIC.toString(16)}`;
	if (!(flags & P_META)) return `meta page ${page} is not flagged as a meta page`;
	if (buf.readBigUInt64LE(0) !== BigInt(page)) return `meta page ${page} carries page number ${buf.readBigUInt64LE(0)}`;
	const version = buf.readUInt32LE(META.version) & 0xffff;
	if (version !== MDB_DATA_VERSION) return `meta page ${page} has data version ${version}, lmdb-js writes ${MDB_DATA_VERSION}`;
	const pageSize = buf.readUInt32LE(META.pageSize);
	if (pageSize < MIN_PAGE_SIZE || pageSize > MAX_PAGE_SIZE || (pageSize & (pageSize - 1)) !== 0) return `meta page ${page} declares a page size of ${pageSize}`;
	const lastPage = buf.readBigUInt64LE(META.lastPage);
	const txnid = buf.readBigUInt64LE(META.txnid);
	if (lastPage > BigInt(Number.MAX_SAFE_INTEGER) || txnid > BigInt(Number.MAX_SAFE_INTEGER)) return `meta page ${page} has an impossible last page or transaction id`;
	return { pageSize, lastPage: Number(lastPage), txnid: Number(txnid) };
}

function damaged(path: string, what: string, cause?: unknown): IndexError {
	return new IndexError("INDEX_CORRUPT", `the store index ${path} is damaged (${what}): run \`modelfs rebuild-index\` to rebuild it from the catalog and the objects`, {
		cause,
	});
}

/**
 * Checks an LMDB data file before lmdb-js maps it. LMDB trusts its file: a
 * meta page it picks for its higher txnid is not checked further, and a
 * file shorter than the pages that meta names kills the process with SIGBUS
 * (SIGSEGV for garbage page numbers) on the first read of a missing page,
 * with no message. So both meta pages must carry MDB_MAGIC, the meta flag,
 * their page number, data version 2 and the same sane page size; the file
 * must be at least two pages and a whole number of them; and it must hold
 * every page up to mm_last_pg of the newer meta. Returns null when the file
 * does not exist (a new store: LMDB creates it); throws IndexError
 * INDEX_CORRUPT, whose message says to run `modelfs rebuild-index`.
 */
export async function checkIndexFile(params: CheckIndexFileParams): Promise<IndexFileInfo | null> {
	if (typeof params?.path !== "string" || params.path === "") throw new TypeError("checkIndexFile: `path` must be a non-empty string");
	const { path } = params;
	let fh: Awaited<ReturnType<typeof open>>;
	try {
		fh = await open(path, "r");
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
		throw err;
	}
	try {
		const first = Buffer.alloc(META.end);
		const got0 = (await fh.read(first, 0, META.end, 0)).bytesRead;
		// An empty file would make LMDB start a new, empty index over the
		// catalog's repos (and gc then sees every blob as garbage).
		if (got0 < META.end) throw damaged(path, `the file is ${got0} bytes, shorter than two pages`);
		const meta0 = readMeta(first, 0);
		// Page 1 is found through page 0's page size; with page 0 unusable the
		// OS page size is the one lmdb-js would have chosen.
		const pageSize = typeof meta0 === "string" ? 4096 : meta0.pageSize;
		const second = Buffer.alloc(META.end);
		const got1 = (await fh.read(second, 0, META.end, pageSize)).bytesRead;
		const meta1 = got1 < META.end ? "meta page 1 is missing" : readMeta(second, 1);
		if (typeof meta0 === "string" && typeof meta1 === "string") throw damaged(path, `no valid meta page: ${meta0}; ${meta1}`);
		if (typeof meta0 === "string") throw damaged(path, meta0);
		if (typeof meta1 === "string") throw damaged(path, meta1);
		if (meta1.pageSize !== meta0.pageSize) throw damaged(path, `the meta pages declare page sizes ${meta0.pageSize} and ${meta1.pageSize}`);
		let newer = meta1.txnid > meta0.txnid ? meta1 : meta0;
		// A writer with overlappingSync (lmdb-js's default for writers) keeps a
		// third meta in the second half of page 0, written from mm_mapsize on
		// (so without magic), and takes it when its txnid is the highest.
		const sync = Buffer.alloc(META.end);
		if ((await fh.read(sync, 0, META.end, pageSize >> 1)).bytesRead === META.end) {
			const txnid = sync.readBigUInt64LE(META.txnid);
			if (txnid > BigInt(newer.txnid)) {
				const syncPageSize = sync.readUInt32LE(META.pageSize);
				const lastPage = sync.readBigUInt64LE(META.lastPage);
				if (syncPageSize !== pageSize || lastPage > BigInt(Number.MAX_SAFE_INTEGER) || txnid > BigInt(Number.MAX_SAFE_INTEGER))
					throw damaged(path, "the sync meta in page 0 is newer than both meta pages but is not a meta");
				newer = { pageSize, lastPage: Number(lastPage), txnid: Number(txnid) };
			}
		}
		// Stat after reading the metas: the file only grows, and a writer
		// writes its pages before the meta that names them, so a size read now
		// covers the newer meta read above.
		const { size } = await fh.stat();
		if (size < 2 * pageSize) throw damaged(path, `the file is ${size} bytes, shorter than two pages of ${pageSize}`);
		if (size % pageSize !== 0) throw damaged(path, `the file is ${size} bytes, not a whole number of ${pageSize}-byte pages`);
		const needed = (newer.lastPage + 1) * pageSize;
		if (size < needed) throw damaged(path, `the file is ${size} bytes but its meta page uses pages up to ${newer.lastPage}, ${needed} bytes: it was cut short`);
		return { pageSize, size, lastPage: newer.lastPage, txnid: newer.txnid };
	} finally {
		await fh.close();
	}
}
