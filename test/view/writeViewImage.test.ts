import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ViewDir } from "../../src/view/ViewTree.js";
import { writeViewImage } from "../../src/view/writeViewImage.js";
import { tempDir } from "../native/viewFixtures.js";

interface Decoded {
	objectsDir: string;
	mtime: number;
	inodes: Array<{ mode: number; nlink: number; size: number; parent: number; a: number; b: number; flags: number; digest: string }>;
	/** ino -> names of its entries in image order */
	entries: Map<number, Array<{ name: string; ino: number }>>;
	str: (off: number, len: number) => string;
}

/** Reads an image by native/VIEW_IMAGE.md, independently of the writer. */
function decode(buf: Buffer): Decoded {
	expect(buf.toString("latin1", 0, 8)).toBe("MFSVIEW1");
	expect(buf.readUInt32LE(8)).toBe(1);
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
	const entries = new Map<number, Array<{ name: string; ino: number }>>();
	for (let i = 0; i < count; i++) {
		const o = inodesOff + 64 * i;
		const rec = {
			mode: buf.readUInt32LE(o),
			nlink: buf.readUInt32LE(o + 4),
			size: Number(buf.readBigUInt64LE(o + 8)),
			parent: buf.readUInt32LE(o + 16),
			a: buf.readUInt32LE(o + 20),
			b: buf.readUInt32LE(o + 24),
			flags: buf.readUInt32LE(o + 28),
			digest: buf.toString("hex", o + 32, o + 64),
		};
		inodes.push(rec);
		if ((rec.mode & 0o170000) === 0o040000) {
			const list = [];
			for (let j = 0; j < rec.b; j++) {
				const d = direntsOff + 16 * (rec.a + j);
				list.push({ name: str(buf.readUInt32LE(d), buf.readUInt32LE(d + 4)), ino: buf.readUInt32LE(d + 8) });
			}
			entries.set(i + 1, list);
		}
	}
	return { objectsDir: str(buf.readUInt32LE(56), buf.readUInt32LE(60)), mtime: Number(buf.readBigInt64LE(64)), inodes, entries, str };
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
		const summary = await writeViewImage({ root: sampleTree(), objectsDir: "/srv/store/objects", path, mtime: new Date(1_700_000_000_000) });
		const img = decode(readFileSync(path));
		expect(summary).toEqual({ inodes: 8, files: 3, fileBytes: 12, imageBytes: readFileSync(path).length });
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
		const byName = (parent: number, name: string) => img.inodes[(img.entries.get(parent)?.find((e) => e.name === name)?.ino ?? 0) - 1];
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
		expect(readdirSync(dir)).toEqual(["view.img"]);
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
