import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ViewDir } from "../../src/view/ViewTree.js";
import { writeViewImage } from "../../src/view/writeViewImage.js";
import { tempDir } from "../native/viewFixtures.js";

interface Decoded {
	objectsDir: string;
	mtime: number;
	nextNodeid: number;
	imageId: string;
	baseId: string;
	generation: number;
	inodes: Array<{ nodeid: number; mode: number; nlink: number; size: number; parent: number; mtime: number; a: number; b: number; flags: number; digest: string }>;
	/** nodeid -> the inode */
	byId: Map<number, Decoded["inodes"][number]>;
	/** nodeid -> names of its entries in image order */
	entries: Map<number, Array<{ name: string; ino: number }>>;
	/** path ("/a/b") -> nodeid, for what the tree shows */
	paths: Map<string, number>;
	str: (off: number, len: number) => string;
}

/** Reads an image by native/VIEW_IMAGE.md (version 2), independently of the writer. */
function decode(buf: Buffer): Decoded {
	expect(buf.toString("latin1", 0, 8)).toBe("MFSVIEW1");
	expect(buf.readUInt32LE(8)).toBe(2);
	expect(buf.readUInt32LE(12)).toBe(128);
	const count = buf.readUInt32LE(16);
	const inodesOff = Number(buf.readBigUInt64LE(24));
	const direntsOff = Number(buf.readBigUInt64LE(32));
	const stringsOff = Number(buf.readBigUInt64LE(40));
	const stringsSize = Number(buf.readBigUInt64LE(48));
	expect(stringsOff + stringsSize).toBe(buf.length);
	const str = (off: number, len: number) => {
		expect(buf[stringsOff + off + len]).toBe(0);
		return buf.toString("utf8", stringsOff + off, stringsOff + off + len);
	};
	const inodes = [];
	const byId = new Map<number, Decoded["inodes"][number]>();
	const entries = new Map<number, Array<{ name: string; ino: number }>>();
	for (let i = 0; i < count; i++) {
		const o = inodesOff + 88 * i;
		const rec = {
			mode: buf.readUInt32LE(o),
			nlink: buf.readUInt32LE(o + 4),
			size: Number(buf.readBigUInt64LE(o + 8)),
			nodeid: Number(buf.readBigUInt64LE(o + 16)),
			parent: Number(buf.readBigUInt64LE(o + 24)),
			mtime: Number(buf.readBigInt64LE(o + 32)),
			a: buf.readUInt32LE(o + 40),
			b: buf.readUInt32LE(o + 44),
			flags: buf.readUInt32LE(o + 48),
			digest: buf.toString("hex", o + 56, o + 88),
		};
		if (i > 0) expect(rec.nodeid).toBeGreaterThan(inodes[i - 1].nodeid);
		inodes.push(rec);
		byId.set(rec.nodeid, rec);
		if ((rec.mode & 0o170000) === 0o040000) {
			const list = [];
			for (let j = 0; j < rec.b; j++) {
				const d = direntsOff + 16 * (rec.a + j);
				list.push({ name: str(buf.readUInt32LE(d), buf.readUInt32LE(d + 4)), ino: Number(buf.readBigUInt64LE(d + 8)) });
			}
			entries.set(rec.nodeid, list);
		}
	}
	const paths = new Map<string, number>();
	const walk = (id: number, p: string) => {
		paths.set(p || "/", id);
		for (const e of entries.get(id) ?? []) walk(e.ino, `${p}/${e.name}`);
	};
	walk(1, "");
	return {
		objectsDir: str(buf.readUInt32LE(56), buf.readUInt32LE(60)),
		mtime: Number(buf.readBigInt64LE(64)),
		nextNodeid: Number(buf.readBigUInt64LE(72)),
		imageId: buf.readBigUInt64LE(80).toString(16).padStart(16, "0"),
		baseId: buf.readBigUInt64LE(88).toString(16).padStart(16, "0"),
		generation: Number(buf.readBigUInt64LE(96)),
		inodes,
		byId,
		entries,
		paths,
		str,
	};
}

const D1 = "1".repeat(64);
const D2 = "2".repeat(64);

function sampleTree(): ViewDir {
	return {
		kind: "dir",
		name: "",
		children: [
			{ kind: "dir", name: "zeta", children: [{ kind: "symlink", name: "link", target: "../alpha/b.bin" }] },
			{
				kind: "dir",
				name: "alpha",
				children: [
					{ kind: "file", name: "b.bin", size: 5, blake3: D2 },
					{ kind: "file", name: "a.bin", size: 3, blake3: D1 },
					{ kind: "file", name: "main", size: 4, content: "c0de" },
					{ kind: "dir", name: "Émoji😀", children: [] },
				],
			},
		],
	};
}

describe("writeViewImage", () => {
	it("writes the tree breadth first with sorted entries, modes, sizes, digests, targets and inline bytes", async () => {
		const dir = tempDir("modelfs-img-");
		const path = join(dir, "view.img");
		const summary = await writeViewImage({ root: sampleTree(), objectsDir: "/srv/store/objects", path, mtime: new Date(1_700_000_000_000), generation: 7 });
		const img = decode(readFileSync(path));
		expect(summary).toEqual({
			inodes: 8,
			files: 3,
			fileBytes: 12,
			imageBytes: readFileSync(path).length,
			imageId: img.imageId,
			baseId: null,
			kept: 0,
			added: 7,
			orphans: 0,
			nextNodeid: 9,
		});
		expect(img.generation).toBe(7);
		expect(img.nextNodeid).toBe(9);
		expect(img.baseId).toBe("0000000000000000");
		expect(img.inodes.map((n) => n.nodeid)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
		expect(img.objectsDir).toBe("/srv/store/objects");
		expect(img.mtime).toBe(1_700_000_000);
		expect(img.inodes[0].mode).toBe(0o040555);
		expect(img.inodes[0].nlink).toBe(4);
		expect(img.entries.get(1)).toEqual([
			{ name: "alpha", ino: 2 },
			{ name: "zeta", ino: 3 },
		]);
		// Byte order: uppercase and ASCII before the UTF-8 name.
		expect(img.entries.get(2)?.map((e) => e.name)).toEqual(["a.bin", "b.bin", "main", "Émoji😀"]);
		const byName = (parent: number, name: string) => img.byId.get(img.entries.get(parent)?.find((e) => e.name === name)?.ino ?? 0) as Decoded["inodes"][number];
		const a = byName(2, "a.bin");
		expect(a.mode).toBe(0o100444);
		expect(a.size).toBe(3);
		expect(a.digest).toBe(D1);
		expect(a.parent).toBe(2);
		const main = byName(2, "main");
		expect(main.flags).toBe(1);
		expect(img.str(main.a, main.b)).toBe("c0de");
		const link = byName(3, "link");
		expect(link.mode).toBe(0o120777);
		expect(img.str(link.a, link.b)).toBe("../alpha/b.bin");
		expect(link.size).toBe("../alpha/b.bin".length);
		expect(img.inodes.every((n) => n.mtime === 1_700_000_000)).toBe(true);
		expect(readdirSync(dir)).toEqual(["view.img"]);
	});

	it("keeps every path's nodeid over a previous image, numbers new paths above all, keeps vanished ones as orphans", async () => {
		const dir = tempDir("modelfs-img-");
		const first = await writeViewImage({ root: sampleTree(), objectsDir: "/o", path: join(dir, "1"), mtime: new Date(1_000_000_000_000) });
		const a = decode(readFileSync(join(dir, "1")));
		const tree = sampleTree();
		const alpha = tree.children[1] as ViewDir;
		// zeta goes, alpha/main changes its bytes, alpha/a.bin becomes a folder, a new repo comes.
		tree.children = tree.children.filter((c) => c.name !== "zeta");
		alpha.children = alpha.children.map((c) =>
			c.name === "main" ? { kind: "file", name: "main", size: 4, content: "beef" } : c.name === "a.bin" ? { kind: "dir", name: "a.bin", children: [] } : c,
		);
		tree.children.push({ kind: "dir", name: "new", children: [{ kind: "file", name: "w", size: 2, blake3: D2 }] });
		const second = await writeViewImage({ root: tree, objectsDir: "/o", path: join(dir, "2"), previous: join(dir, "1"), mtime: new Date(2_000_000_000_000), generation: 2 });
		const b = decode(readFileSync(join(dir, "2")));
		expect(second.baseId).toBe(first.imageId);
		expect(b.baseId).toBe(a.imageId);
		expect(b.imageId).not.toBe(a.imageId);
		for (const p of ["/", "/alpha", "/alpha/b.bin", "/alpha/main", "/alpha/Émoji😀"]) expect(b.paths.get(p), p).toBe(a.paths.get(p));
		// A path whose type changed gets a new nodeid; new paths are above every old one.
		expect(b.paths.get("/alpha/a.bin")).toBeGreaterThanOrEqual(a.nextNodeid);
		expect(b.paths.get("/new")).toBeGreaterThanOrEqual(a.nextNodeid);
		expect(b.paths.get("/new/w")).toBeGreaterThanOrEqual(a.nextNodeid);
		// Vanished: zeta, zeta/link and the old a.bin stay as orphans, in no folder.
		const orphanIds = b.inodes.filter((n) => n.flags & 2).map((n) => n.nodeid);
		expect(orphanIds.sort((x, y) => x - y)).toEqual([a.paths.get("/zeta"), a.paths.get("/zeta/link"), a.paths.get("/alpha/a.bin")].sort((x, y) => (x as number) - (y as number)));
		expect(second).toMatchObject({ kept: 4, added: 3, orphans: 3, files: 3 });
		const oldFile = b.byId.get(a.paths.get("/alpha/a.bin") as number);
		expect(oldFile?.digest).toBe(D1);
		expect((oldFile?.mode ?? 0) & 0o170000).toBe(0o100000);
		// Unchanged inodes keep their time; changed ones and new ones show the new time.
		expect(b.byId.get(a.paths.get("/alpha/b.bin") as number)?.mtime).toBe(1_000_000_000);
		expect(b.byId.get(a.paths.get("/alpha/main") as number)?.mtime).toBe(2_000_000_000);
		expect(b.byId.get(1)?.mtime).toBe(2_000_000_000);
		// A third image on the second: orphans stay, ids never come back.
		await writeViewImage({ root: sampleTree(), objectsDir: "/o", path: join(dir, "3"), previous: join(dir, "2") });
		const c = decode(readFileSync(join(dir, "3")));
		expect(c.paths.get("/zeta")).toBeGreaterThanOrEqual(b.nextNodeid);
		expect(c.inodes.filter((n) => n.flags & 2).length).toBe(3 + 3);
		expect(c.byId.has(a.paths.get("/zeta") as number)).toBe(true);
	});

	it("gives the same bytes for the same tree, whatever the children order", async () => {
		const dir = tempDir("modelfs-img-");
		const mtime = new Date(0);
		await writeViewImage({ root: sampleTree(), objectsDir: "/o", path: join(dir, "1"), mtime });
		const reversed = sampleTree();
		reversed.children.reverse();
		await writeViewImage({ root: reversed, objectsDir: "/o", path: join(dir, "2"), mtime });
		expect(readFileSync(join(dir, "1")).equals(readFileSync(join(dir, "2")))).toBe(true);
	});

	it("refuses bad trees and leaves no file behind", async () => {
		const dir = tempDir("modelfs-img-");
		const path = join(dir, "v.img");
		const bad = async (root: ViewDir) => writeViewImage({ root, objectsDir: "/o", path });
		const file = (name: string) => ({ kind: "file" as const, name, size: 1, blake3: D1 });
		await expect(bad({ kind: "dir", name: "", children: [file("x"), file("x")] })).rejects.toThrow(/duplicate entry x/);
		await expect(bad({ kind: "dir", name: "", children: [file("a/b")] })).rejects.toThrow(/bad entry name/);
		await expect(bad({ kind: "dir", name: "", children: [file("..")] })).rejects.toThrow(/bad entry name/);
		await expect(bad({ kind: "dir", name: "", children: [{ kind: "file", name: "f", size: 1, blake3: "XYZ" }] })).rejects.toThrow(/bad blake3/);
		await expect(bad({ kind: "dir", name: "", children: [{ kind: "file", name: "f", size: -1, blake3: D1 }] })).rejects.toThrow(/bad size/);
		await expect(bad({ kind: "dir", name: "", children: [{ kind: "file", name: "f", size: 9, content: "abc" }] })).rejects.toThrow(/size 9/);
		await expect(bad({ kind: "dir", name: "", children: [{ kind: "symlink", name: "l", target: "" }] })).rejects.toThrow(/bad target/);
		await expect(writeViewImage({ root: sampleTree(), objectsDir: "relative/objects", path })).rejects.toThrow(TypeError);
		expect(readdirSync(dir)).toEqual([]);
	});
});
