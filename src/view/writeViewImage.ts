import { createHash, randomBytes } from "node:crypto";
import { open, readFile, rename, rm } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { ModelfsError } from "../errors.js";
import type { ViewDir, ViewNode } from "./ViewTree.js";
import { type ImageField, VIEW_IMAGE_FORMAT } from "./viewImageFormat.js";

const F = VIEW_IMAGE_FORMAT;
const H = F.structs.mfs_image_header.fields;
const I = F.structs.mfs_inode.fields;
const D = F.structs.mfs_dirent.fields;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const MAX_INLINE = 1 << 20;
const ROOT = 1;

export interface WriteViewImageParams {
	/** The tree to show; its root is a ViewDir named "". */
	root: ViewDir;
	/** Absolute path of the store's `objects/` folder (blobs at `<2 hex>/<64 hex>`). */
	objectsDir: string;
	/** Where to write the image; written beside it and renamed into place. */
	path: string;
	/**
	 * The time new and changed inodes show as atime/mtime/ctime (unchanged
	 * ones keep theirs from `previous`).
	 * @default new Date()
	 */
	mtime?: Date;
	/**
	 * The image this one replaces on a live mount (the runtime folder's
	 * `view.img`): every path it shows keeps its nodeid while its file type
	 * stays, new paths get nodeids above every nodeid it ever used, and its
	 * paths that vanished stay as orphans (in no directory) so that open
	 * files keep answering. Without it nodeids are given breadth first
	 * from 1 (the root).
	 * @default null
	 */
	previous?: string | null;
	/** The catalog generation the tree was built from (the daemon reports it). @default 0 */
	generation?: number;
}

export interface ViewImageSummary {
	/** Number of inodes, the root and orphans included. */
	inodes: number;
	/** Regular files the tree shows (orphans not counted). */
	files: number;
	/** Sum of the regular files' sizes. */
	fileBytes: number;
	/** Size of the image file. */
	imageBytes: number;
	/** The image's id, 16 hex digits (the daemon names the image it serves by it). */
	imageId: string;
	/** The id of `previous`, or null. */
	baseId: string | null;
	/** Paths that kept their nodeid from `previous`. */
	kept: number;
	/** Paths given a new nodeid. */
	added: number;
	/** Inodes kept only for open files (vanished paths, now and before). */
	orphans: number;
	/** Above every nodeid this mount used. */
	nextNodeid: number;
}

/** One inode of the previous image, as far as the writer needs it. */
interface OldInode {
	nodeid: number;
	mode: number;
	nlink: number;
	size: number;
	mtime: number;
	flags: number;
	blake3: Buffer;
	/** Inline bytes or symlink target. */
	bytes: Buffer | null;
	/** Directory: its entries, name -> nodeid. */
	entries: Map<string, number> | null;
}

interface OldImage {
	imageId: bigint;
	nextNodeid: number;
	byId: Map<number, OldInode>;
	/** Path ("" for the root, "/a/b" below it) -> nodeid, for paths the image shows. */
	byPath: Map<string, number>;
}

/** An inode of the new image, before it is laid out. */
interface Slot {
	node: ViewNode | null;
	nodeid: number;
	parent: number;
	path: string;
	/** Sorted children (directories). */
	children: Slot[];
	orphan: OldInode | null;
}

/**
 * Serialises a view tree into the binary image that `modelfs-fused` loads
 * (format: native/VIEW_IMAGE.md, version 2). With `previous`, nodeids are
 * kept across the images of one live mount, so a refresh never changes
 * what the kernel and an overlay on top already know. Each directory's
 * entries are sorted by their UTF-8 bytes so the daemon can binary-search
 * a lookup. The same tree and `previous` always give the same bytes.
 */
export async function writeViewImage(params: WriteViewImageParams): Promise<ViewImageSummary> {
	const { root, objectsDir, path } = params;
	if (root?.kind !== "dir") throw new TypeError("writeViewImage: `root` must be a ViewDir");
	if (typeof objectsDir !== "string" || !isAbsolute(objectsDir)) {
		throw new TypeError("writeViewImage: `objectsDir` must be an absolute path");
	}
	if (typeof path !== "string" || path === "") throw new TypeError("writeViewImage: `path` is required");
	const generation = params.generation ?? 0;
	if (!Number.isSafeInteger(generation) || generation < 0) throw new TypeError("writeViewImage: `generation` must be a non-negative integer");
	const now = Math.floor((params.mtime ?? new Date()).getTime() / 1000);
	const old = params.previous ? await readPrevious(params.previous) : null;

	// Breadth first: nodeids of a first image, and the order entries are laid out in.
	const slots: Slot[] = [{ node: root, nodeid: ROOT, parent: ROOT, path: "", children: [], orphan: null }];
	let next = old?.nextNodeid ?? 2;
	let kept = 0;
	let added = 0;
	const used = new Set<number>([ROOT]);
	for (let i = 0; i < slots.length; i++) {
		const slot = slots[i];
		if (slot.node?.kind !== "dir") continue;
		for (const child of sortChildren(slot.node, slot.path === "" ? "/" : slot.path)) {
			const path = `${slot.path}/${child.name}`;
			const was = old?.byPath.get(path);
			const prev = was === undefined ? undefined : old?.byId.get(was);
			let nodeid: number;
			if (prev !== undefined && (prev.mode & S_IFMT) === modeOf(child)) {
				nodeid = prev.nodeid;
				kept++;
			} else {
				nodeid = next++;
				added++;
			}
			used.add(nodeid);
			const s: Slot = { node: child, nodeid, parent: slot.nodeid, path, children: [], orphan: null };
			slot.children.push(s);
			slots.push(s);
		}
	}
	if (old !== null) {
		for (const o of old.byId.values()) {
			if (!used.has(o.nodeid)) slots.push({ node: null, nodeid: o.nodeid, parent: ROOT, path: "", children: [], orphan: o });
		}
	}

	const strings = new StringTable();
	const objectsDirRef = strings.add(objectsDir, "objectsDir");
	const dirents: Buffer[] = [];
	const records = new Map<number, Buffer>();
	let files = 0;
	let fileBytes = 0;
	let orphans = 0;
	for (const slot of slots) {
		const rec = Buffer.alloc(F.inode_size);
		put(rec, I.nodeid, slot.nodeid);
		put(rec, I.parent, slot.parent);
		const prev = old?.byId.get(slot.nodeid) ?? null;
		let same = prev !== null;
		const node = slot.node;
		if (node === null) {
			const o = slot.orphan as OldInode;
			orphans++;
			put(rec, I.mode, o.mode);
			put(rec, I.nlink, o.nlink);
			put(rec, I.size, o.size);
			put(rec, I.mtime, o.mtime);
			o.blake3.copy(rec, I.blake3.offset);
			if (o.bytes !== null) {
				const ref = (o.mode & S_IFMT) === S_IFLNK ? strings.add(o.bytes.toString("utf8"), "target") : strings.addBytes(o.bytes);
				put(rec, I.a, ref.offset);
				put(rec, I.b, ref.length);
			}
			put(rec, I.flags, (o.flags & F.inode_flags.INLINE) | F.inode_flags.ORPHAN);
			records.set(slot.nodeid, rec);
			continue;
		}
		if (node.kind === "dir") {
			const nlink = 2 + slot.children.filter((c) => c.node?.kind === "dir").length;
			put(rec, I.mode, S_IFDIR | 0o555);
			put(rec, I.nlink, nlink);
			put(rec, I.a, dirents.length);
			put(rec, I.b, slot.children.length);
			for (const child of slot.children) {
				const name = strings.add((child.node as ViewNode).name, "name");
				const d = Buffer.alloc(F.dirent_size);
				put(d, D.name_off, name.offset);
				put(d, D.name_len, name.length);
				put(d, D.nodeid, child.nodeid);
				dirents.push(d);
			}
			same =
				prev !== null &&
				prev.nlink === nlink &&
				prev.entries !== null &&
				prev.entries.size === slot.children.length &&
				slot.children.every((c) => prev.entries?.get((c.node as ViewNode).name) === c.nodeid);
		} else if (node.kind === "file" && node.content !== undefined) {
			// Small synthetic files (refs/main): bytes kept in the string table.
			if (typeof node.content !== "string") throw new TypeError(`writeViewImage: file ${(node as ViewNode).name} has a bad content`);
			const bytes = Buffer.from(node.content, "utf8");
			if (bytes.length !== node.size) {
				throw new TypeError(`writeViewImage: file ${node.name}: size ${node.size} but its content has ${bytes.length} bytes`);
			}
			if (bytes.length > MAX_INLINE) throw new TypeError(`writeViewImage: inline file ${node.name} is larger than ${MAX_INLINE} bytes`);
			const ref = strings.addBytes(bytes);
			put(rec, I.mode, S_IFREG | 0o444);
			put(rec, I.nlink, 1);
			put(rec, I.size, bytes.length);
			put(rec, I.a, ref.offset);
			put(rec, I.b, ref.length);
			put(rec, I.flags, F.inode_flags.INLINE);
			files++;
			fileBytes += bytes.length;
			same = prev !== null && (prev.flags & F.inode_flags.INLINE) !== 0 && prev.bytes?.equals(bytes) === true;
		} else if (node.kind === "file") {
			if (!Number.isSafeInteger(node.size) || node.size < 0) {
				throw new TypeError(`writeViewImage: file ${node.name} has a bad size ${node.size}`);
			}
			if (typeof node.blake3 !== "string" || !/^[0-9a-f]{64}$/.test(node.blake3)) {
				throw new TypeError(`writeViewImage: file ${node.name} has a bad blake3 digest ${String(node.blake3)}`);
			}
			const digest = Buffer.from(node.blake3, "hex");
			put(rec, I.mode, S_IFREG | 0o444);
			put(rec, I.nlink, 1);
			put(rec, I.size, node.size);
			digest.copy(rec, I.blake3.offset);
			if (node.prefetch === true) put(rec, I.flags, F.inode_flags.PREFETCH);
			files++;
			fileBytes += node.size;
			same = prev !== null && (prev.flags & F.inode_flags.INLINE) === 0 && prev.size === node.size && prev.blake3.equals(digest);
		} else if (node.kind === "symlink") {
			if (typeof node.target !== "string" || node.target === "" || node.target.includes("\0")) {
				throw new TypeError(`writeViewImage: symlink ${node.name} has a bad target`);
			}
			const target = strings.add(node.target, "target");
			if (target.length > 4095) throw new TypeError(`writeViewImage: symlink ${node.name}: target too long`);
			put(rec, I.mode, S_IFLNK | 0o777);
			put(rec, I.nlink, 1);
			put(rec, I.size, target.length);
			put(rec, I.a, target.offset);
			put(rec, I.b, target.length);
			same = prev !== null && prev.bytes !== null && prev.bytes.toString("utf8") === node.target;
		} else {
			throw new TypeError(`writeViewImage: unknown node kind ${String((node as { kind?: unknown }).kind)}`);
		}
		// Unchanged inodes keep their times: the kernel's cached attributes stay true.
		put(rec, I.mtime, same && prev !== null ? prev.mtime : now);
		records.set(slot.nodeid, rec);
	}

	const ids = [...records.keys()].sort((a, b) => a - b);
	const nextNodeid = Math.max(next, (ids.at(-1) ?? ROOT) + 1);
	const inodesOff = F.header_size;
	const direntsOff = inodesOff + ids.length * F.inode_size;
	const stringsOff = direntsOff + dirents.length * F.dirent_size;
	const stringBytes = strings.toBuffer();
	const header = Buffer.alloc(F.header_size);
	header.write(F.magic, H.magic.offset, "latin1");
	put(header, H.version, F.version);
	put(header, H.header_size, F.header_size);
	put(header, H.inode_count, ids.length);
	put(header, H.dirent_count, dirents.length);
	put(header, H.inodes_off, inodesOff);
	put(header, H.dirents_off, direntsOff);
	put(header, H.strings_off, stringsOff);
	put(header, H.strings_size, stringBytes.length);
	put(header, H.objects_dir_off, objectsDirRef.offset);
	put(header, H.objects_dir_len, objectsDirRef.length);
	put(header, H.mtime, now);
	put(header, H.next_nodeid, nextNodeid);
	putBig(header, H.base_id, old?.imageId ?? 0n);
	put(header, H.generation, generation);
	const image = Buffer.concat([header, ...ids.map((id) => records.get(id) as Buffer), ...dirents, stringBytes]);
	// The id names these bytes and their base: the same tree on the same base gives the same image.
	const id = createHash("sha256").update(image).digest().readBigUInt64LE(0) | 1n;
	putBig(image, H.image_id, id);

	const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
	try {
		const fh = await open(tmp, "wx", 0o644);
		try {
			await fh.writeFile(image);
			await fh.sync();
		} finally {
			await fh.close();
		}
		await rename(tmp, path);
	} catch (err) {
		await rm(tmp, { force: true });
		throw new ModelfsError("VIEW_IMAGE_WRITE", `cannot write the view image ${path}: ${(err as Error).message}`, {
			cause: err,
			hint: "check that the runtime folder is writable and has free space",
		});
	}
	return {
		inodes: ids.length,
		files,
		fileBytes,
		imageBytes: image.length,
		imageId: hex64(id),
		baseId: old === null ? null : hex64(old.imageId),
		kept,
		added,
		orphans,
		nextNodeid,
	};
}

function hex64(v: bigint): string {
	return v.toString(16).padStart(16, "0");
}

function modeOf(node: ViewNode): number {
	return node.kind === "dir" ? S_IFDIR : node.kind === "symlink" ? S_IFLNK : S_IFREG;
}

/** Reads the image a refresh replaces; a file that is no version 2 image cannot lend its nodeids. */
async function readPrevious(path: string): Promise<OldImage> {
	let buf: Buffer;
	try {
		buf = await readFile(path);
	} catch (err) {
		throw new ModelfsError("VIEW_IMAGE_WRITE", `cannot read the view image being replaced, ${path}: ${(err as Error).message}`, {
			cause: err,
			hint: "the mount's runtime folder lost its view.img: remount the view",
		});
	}
	const bad = (why: string) =>
		new ModelfsError("VIEW_IMAGE_WRITE", `the view image being replaced, ${path}, ${why}`, {
			hint: "a daemon of an older modelfs serves it: restart it first (modelfs restart), or remount the view",
		});
	if (buf.length < F.header_size || buf.toString("latin1", 0, 8) !== F.magic) throw bad("is not a view image");
	if (buf.readUInt32LE(H.version.offset) !== F.version) throw bad(`is version ${buf.readUInt32LE(H.version.offset)}, not ${F.version}`);
	const count = buf.readUInt32LE(H.inode_count.offset);
	const inodesOff = Number(buf.readBigUInt64LE(H.inodes_off.offset));
	const direntsOff = Number(buf.readBigUInt64LE(H.dirents_off.offset));
	const stringsOff = Number(buf.readBigUInt64LE(H.strings_off.offset));
	const dirCount = buf.readUInt32LE(H.dirent_count.offset);
	if (inodesOff + count * F.inode_size > buf.length || direntsOff + dirCount * F.dirent_size > buf.length || stringsOff > buf.length) throw bad("is cut short");
	const byId = new Map<number, OldInode>();
	for (let i = 0; i < count; i++) {
		const o = inodesOff + i * F.inode_size;
		const mode = buf.readUInt32LE(o + I.mode.offset);
		const flags = buf.readUInt32LE(o + I.flags.offset);
		const a = buf.readUInt32LE(o + I.a.offset);
		const b = buf.readUInt32LE(o + I.b.offset);
		const kind = mode & S_IFMT;
		const rec: OldInode = {
			nodeid: Number(buf.readBigUInt64LE(o + I.nodeid.offset)),
			mode,
			nlink: buf.readUInt32LE(o + I.nlink.offset),
			size: Number(buf.readBigUInt64LE(o + I.size.offset)),
			mtime: Number(buf.readBigInt64LE(o + I.mtime.offset)),
			flags,
			blake3: Buffer.from(buf.subarray(o + I.blake3.offset, o + I.blake3.offset + 32)),
			bytes: kind === S_IFLNK || (flags & F.inode_flags.INLINE) !== 0 ? Buffer.from(buf.subarray(stringsOff + a, stringsOff + a + b)) : null,
			entries: null,
		};
		if (kind === S_IFDIR && (flags & F.inode_flags.ORPHAN) === 0) {
			rec.entries = new Map();
			for (let j = 0; j < b; j++) {
				const d = direntsOff + (a + j) * F.dirent_size;
				const off = stringsOff + buf.readUInt32LE(d + D.name_off.offset);
				const name = buf.toString("utf8", off, off + buf.readUInt32LE(d + D.name_len.offset));
				rec.entries.set(name, Number(buf.readBigUInt64LE(d + D.nodeid.offset)));
			}
		}
		byId.set(rec.nodeid, rec);
	}
	const byPath = new Map<string, number>([["", ROOT]]);
	const queue: Array<[string, number]> = [["", ROOT]];
	for (let q = 0; q < queue.length; q++) {
		const [p, id] = queue[q];
		for (const [name, child] of byId.get(id)?.entries ?? []) {
			byPath.set(`${p}/${name}`, child);
			queue.push([`${p}/${name}`, child]);
		}
	}
	if (!byId.has(ROOT)) throw bad("has no root");
	return {
		imageId: buf.readBigUInt64LE(H.image_id.offset),
		nextNodeid: Number(buf.readBigUInt64LE(H.next_nodeid.offset)),
		byId,
		byPath,
	};
}

/** Writes an integer field of the layout at its offset, in its width (little-endian). */
function put(buf: Buffer, field: ImageField, value: number): void {
	if (field.type === "u32") buf.writeUInt32LE(value, field.offset);
	else if (field.type === "u64") buf.writeBigUInt64LE(BigInt(value), field.offset);
	else if (field.type === "i64") buf.writeBigInt64LE(BigInt(value), field.offset);
	else throw new TypeError(`writeViewImage: field at ${field.offset} holds bytes, not an integer`);
}

function putBig(buf: Buffer, field: ImageField, value: bigint): void {
	if (field.type !== "u64") throw new TypeError(`writeViewImage: field at ${field.offset} is not a u64`);
	buf.writeBigUInt64LE(value, field.offset);
}

/** Children sorted by UTF-8 bytes, with names checked and duplicates refused. */
function sortChildren(dir: ViewDir, where: string): ViewNode[] {
	if (!Array.isArray(dir.children)) throw new TypeError(`writeViewImage: directory ${where} has no children array`);
	const keyed = dir.children.map((child) => {
		const name = child?.name;
		if (typeof name !== "string" || name === "" || name === "." || name === ".." || /[/\0]/.test(name)) {
			throw new TypeError(`writeViewImage: bad entry name ${JSON.stringify(name)} in ${where}`);
		}
		const bytes = Buffer.from(name, "utf8");
		if (bytes.length > 255) throw new TypeError(`writeViewImage: entry name longer than 255 bytes in ${where}`);
		return { child, bytes };
	});
	keyed.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
	for (let i = 1; i < keyed.length; i++) {
		if (keyed[i - 1].bytes.equals(keyed[i].bytes)) {
			throw new TypeError(`writeViewImage: duplicate entry ${keyed[i].child.name} in ${where}`);
		}
	}
	return keyed.map((k) => k.child);
}

/** NUL-terminated strings, each stored once. */
class StringTable {
	private readonly chunks: Buffer[] = [];
	private readonly seen = new Map<string, { offset: number; length: number }>();
	private size = 0;

	add(value: string, what: string): { offset: number; length: number } {
		const known = this.seen.get(value);
		if (known) return known;
		if (value.includes("\0")) throw new TypeError(`writeViewImage: ${what} contains NUL`);
		const bytes = Buffer.from(value, "utf8");
		const ref = { offset: this.size, length: bytes.length };
		this.chunks.push(bytes, Buffer.alloc(1));
		this.size += bytes.length + 1;
		if (this.size > 0xffffffff) throw new TypeError("writeViewImage: string table larger than 4 GiB");
		this.seen.set(value, ref);
		return ref;
	}

	/** Raw bytes (may hold NUL), never shared. */
	addBytes(bytes: Buffer): { offset: number; length: number } {
		const ref = { offset: this.size, length: bytes.length };
		this.chunks.push(bytes, Buffer.alloc(1));
		this.size += bytes.length + 1;
		if (this.size > 0xffffffff) throw new TypeError("writeViewImage: string table larger than 4 GiB");
		return ref;
	}

	toBuffer(): Buffer {
		return Buffer.concat(this.chunks);
	}
}
