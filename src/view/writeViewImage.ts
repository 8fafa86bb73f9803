import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { ModelfsError } from "../errors.js";
import type { ViewDir, ViewNode } from "./ViewTree.js";
import { type ImageField, VIEW_IMAGE_FORMAT } from "./viewImageFormat.js";

const F = VIEW_IMAGE_FORMAT;
const H = F.structs.mfs_image_header.fields;
const I = F.structs.mfs_inode.fields;
const D = F.structs.mfs_dirent.fields;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const MAX_INLINE = 1 << 20;

export interface WriteViewImageParams {
	/** The tree to show; its root is a ViewDir named "". */
	root: ViewDir;
	/** Absolute path of the store's `objects/` folder (blobs at `<2 hex>/<64 hex>`). */
	objectsDir: string;
	/** Where to write the image; written beside it and renamed into place. */
	path: string;
	/**
	 * The time every inode shows as atime/mtime/ctime.
	 * @default new Date()
	 */
	mtime?: Date;
}

export interface ViewImageSummary {
	/** Number of inodes, the root included. */
	inodes: number;
	/** Regular files. */
	files: number;
	/** Sum of the regular files' sizes. */
	fileBytes: number;
	/** Size of the image file. */
	imageBytes: number;
}

interface Slot {
	node: ViewNode;
	parent: number;
}

/**
 * Serialises a view tree into the binary image that `modelfs-fused` maps
 * read-only (format: native/VIEW_IMAGE.md). Inodes are numbered breadth
 * first from 1 (the root), and each directory's entries are sorted by their
 * UTF-8 bytes so the daemon can binary-search a lookup. The same tree always
 * gives the same bytes, so nodeids stay stable across remounts of one view.
 */
export async function writeViewImage(params: WriteViewImageParams): Promise<ViewImageSummary> {
	const { root, objectsDir, path } = params;
	if (root?.kind !== "dir") throw new TypeError("writeViewImage: `root` must be a ViewDir");
	if (typeof objectsDir !== "string" || !isAbsolute(objectsDir)) {
		throw new TypeError("writeViewImage: `objectsDir` must be an absolute path");
	}
	if (typeof path !== "string" || path === "") throw new TypeError("writeViewImage: `path` is required");
	const mtime = Math.floor((params.mtime ?? new Date()).getTime() / 1000);

	const strings = new StringTable();
	const objectsDirRef = strings.add(objectsDir, "objectsDir");

	// Breadth first: a directory's children get consecutive inode numbers
	// and consecutive dirents.
	const slots: Slot[] = [{ node: root, parent: 1 }];
	const inodeRecords: Buffer[] = [];
	const dirents: Buffer[] = [];
	let files = 0;
	let fileBytes = 0;
	for (let i = 0; i < slots.length; i++) {
		const { node, parent } = slots[i];
		const ino = i + 1;
		const rec = Buffer.alloc(F.inode_size);
		put(rec, I.parent, parent);
		if (node.kind === "dir") {
			const children = sortChildren(node, ino === 1 ? "/" : node.name);
			put(rec, I.mode, S_IFDIR | 0o555);
			put(rec, I.nlink, 2 + children.filter((c) => c.kind === "dir").length);
			put(rec, I.a, dirents.length);
			put(rec, I.b, children.length);
			for (const child of children) {
				const name = strings.add(child.name, "name");
				const d = Buffer.alloc(F.dirent_size);
				put(d, D.name_off, name.offset);
				put(d, D.name_len, name.length);
				put(d, D.ino, slots.length + 1);
				dirents.push(d);
				slots.push({ node: child, parent: ino });
			}
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
		} else if (node.kind === "file") {
			if (!Number.isSafeInteger(node.size) || node.size < 0) {
				throw new TypeError(`writeViewImage: file ${node.name} has a bad size ${node.size}`);
			}
			if (typeof node.blake3 !== "string" || !/^[0-9a-f]{64}$/.test(node.blake3)) {
				throw new TypeError(`writeViewImage: file ${node.name} has a bad blake3 digest ${String(node.blake3)}`);
			}
			put(rec, I.mode, S_IFREG | 0o444);
			put(rec, I.nlink, 1);
			put(rec, I.size, node.size);
			Buffer.from(node.blake3, "hex").copy(rec, I.blake3.offset);
			files++;
			fileBytes += node.size;
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
		} else {
			throw new TypeError(`writeViewImage: unknown node kind ${String((node as { kind?: unknown }).kind)}`);
		}
		inodeRecords.push(rec);
	}

	const inodesOff = F.header_size;
	const direntsOff = inodesOff + inodeRecords.length * F.inode_size;
	const stringsOff = direntsOff + dirents.length * F.dirent_size;
	const stringBytes = strings.toBuffer();
	const header = Buffer.alloc(F.header_size);
	header.write(F.magic, H.magic.offset, "latin1");
	put(header, H.version, F.version);
	put(header, H.header_size, F.header_size);
	put(header, H.inode_count, inodeRecords.length);
	put(header, H.dirent_count, dirents.length);
	put(header, H.inodes_off, inodesOff);
	put(header, H.dirents_off, direntsOff);
	put(header, H.strings_off, stringsOff);
	put(header, H.strings_size, stringBytes.length);
	put(header, H.objects_dir_off, objectsDirRef.offset);
	put(header, H.objects_dir_len, objectsDirRef.length);
	put(header, H.mtime, mtime);
	const image = Buffer.concat([header, ...inodeRecords, ...dirents, stringBytes]);

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
	return { inodes: inodeRecords.length, files, fileBytes, imageBytes: image.length };
}

/** Writes an integer field of the layout at its offset, in its width (little-endian). */
function put(buf: Buffer, field: ImageField, value: number): void {
	if (field.type === "u32") buf.writeUInt32LE(value, field.offset);
	else if (field.type === "u64") buf.writeBigUInt64LE(BigInt(value), field.offset);
	else if (field.type === "i64") buf.writeBigInt64LE(BigInt(value), field.offset);
	else throw new TypeError(`writeViewImage: field at ${field.offset} holds bytes, not an integer`);
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
