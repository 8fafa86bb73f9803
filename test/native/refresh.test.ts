import { lstat, mkdir, open, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { readMountStats } from "../../src/mount/readMountStats.js";
import { refreshMount } from "../../src/mount/refreshMount.js";
import { sendControl } from "../../src/mount/sendControl.js";
import type { ViewDir } from "../../src/view/ViewTree.js";
import { writeViewImage } from "../../src/view/writeViewImage.js";
import { canMount } from "../support/canMount.js";
import { makeTwoModelView, mountForTest, sha256, tempDir } from "./viewFixtures.js";

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
	try {
		await p;
		return undefined;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code;
	}
}

function clone(t: ViewDir): ViewDir {
	return JSON.parse(JSON.stringify(t));
}

function child(dir: ViewDir, name: string): ViewDir {
	return dir.children.find((c) => c.name === name) as ViewDir;
}

async function setup(passthrough = true) {
	const root = tempDir();
	const fx = makeTwoModelView(root);
	const mnt = join(root, "mnt");
	await mkdir(mnt);
	const m = await mountForTest({ mountpoint: mnt, tree: fx.tree, storeDir: fx.storeDir, passthrough, catalogGeneration: 1 });
	return { fx, mnt, m };
}

describe.runIf(canMount)("refresh in place (modelfs-fused image switch)", () => {
	it("keeps every nodeid, shows new names (also ones looked up while missing), changed inline bytes and listings", async () => {
		const { fx, mnt, m } = await setup();
		const inoBefore = (await stat(join(mnt, "models--org--alpha/blobs/w-alpha"))).ino;
		const dirIno = (await stat(join(mnt, "models--org--alpha"))).ino;
		// Misses the kernel caches for a year.
		expect(await codeOf(stat(join(mnt, "models--org--gamma")))).toBe("ENOENT");
		expect(await codeOf(stat(join(mnt, "models--org--alpha/snapshots/c0ffee")))).toBe("ENOENT");
		expect((await readdir(mnt)).sort()).toEqual(["models--org--alpha", "models--org--beta", "models--org--broken"]);
		expect(await readFile(join(mnt, "models--org--alpha/refs/main"), "utf8")).toBe("a".repeat(40));

		const tree = clone(fx.tree);
		const gamma = clone(child(tree, "models--org--alpha"));
		gamma.name = "models--org--gamma";
		tree.children.push(gamma);
		const alpha = child(tree, "models--org--alpha");
		child(alpha, "snapshots").children.push({ kind: "dir", name: "c0ffee", children: [] });
		const refs = child(alpha, "refs");
		refs.children = [{ kind: "file", name: "main", size: 40, content: "c".repeat(40) }];
		const r = await refreshMount({ runtimeDir: m.runtimeDir, tree, catalogGeneration: 2 });
		expect(r.added).toBe(2);
		expect(r.changed).toBe(1);
		expect(r.invalEntries).toBeGreaterThanOrEqual(2);

		expect((await stat(join(mnt, "models--org--alpha/blobs/w-alpha"))).ino).toBe(inoBefore);
		expect((await stat(join(mnt, "models--org--alpha"))).ino).toBe(dirIno);
		expect((await stat(join(mnt, "models--org--gamma"))).isDirectory()).toBe(true);
		expect((await stat(join(mnt, "models--org--alpha/snapshots/c0ffee"))).isDirectory()).toBe(true);
		expect((await readdir(mnt)).sort()).toEqual(["models--org--alpha", "models--org--beta", "models--org--broken", "models--org--gamma"]);
		expect(await readFile(join(mnt, "models--org--alpha/refs/main"), "utf8")).toBe("c".repeat(40));
		const w = "/models--org--alpha/blobs/w-alpha";
		expect(sha256(await readFile(join(mnt, "models--org--gamma/blobs/w-alpha")))).toBe(sha256(fx.files.get(w) as Buffer));
		const stats = await readMountStats({ runtimeDir: m.runtimeDir });
		expect(stats?.generation).toBe(2);
		expect(stats?.refreshes).toBe(1);
		expect(stats?.daemonStarts).toBe(1);
	});

	it.each([
		{ mode: "passthrough", passthrough: true },
		{ mode: "fallback", passthrough: false },
	])("keeps an open file of a vanished path reading and releases it after; new lookups get ENOENT ($mode)", async ({ passthrough }) => {
		const { fx, mnt, m } = await setup(passthrough);
		const p = "/models--org--beta/blobs/w-beta";
		const want = fx.files.get(p) as Buffer;
		const fh = await open(join(mnt, p), "r");
		let closed = false;
		onTestFinished(async () => {
			if (!closed) await fh.close();
		});
		const tree = clone(fx.tree);
		tree.children = tree.children.filter((c) => c.name !== "models--org--beta");
		const r = await refreshMount({ runtimeDir: m.runtimeDir, tree, catalogGeneration: 2 });
		expect(r.removed).toBe(1);
		expect(await codeOf(stat(join(mnt, "models--org--beta")))).toBe("ENOENT");
		expect(await codeOf(lstat(join(mnt, p)))).toBe("ENOENT");
		const buf = Buffer.alloc(want.length);
		const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
		expect(bytesRead).toBe(want.length);
		expect(buf.equals(want)).toBe(true);
		expect((await fh.stat()).size).toBe(want.length);
		await fh.close();
		closed = true;
		let ids = -1;
		for (let i = 0; i < 100 && ids !== 0; i++) {
			ids = (await readMountStats({ runtimeDir: m.runtimeDir }))?.backingIdsOpen ?? -1;
			if (ids !== 0) await new Promise((res) => setTimeout(res, 20));
		}
		expect(ids).toBe(0);
		// It comes back under a new nodeid.
		const again = await refreshMount({ runtimeDir: m.runtimeDir, tree: fx.tree, catalogGeneration: 3 });
		expect(again.added).toBe(1);
		expect(sha256(await readFile(join(mnt, p)))).toBe(sha256(want));
	});

	it("refuses an image made from another image than the one served, and one that changes a nodeid's type", async () => {
		const { fx, m } = await setup();
		const dir = tempDir();
		// No base: nodeids from 1 again, base id 0.
		await writeViewImage({ root: fx.tree, objectsDir: join(fx.storeDir, "objects"), path: join(dir, "fresh.img") });
		let r = await sendControl({ runtimeDir: m.runtimeDir, request: `refresh ${join(dir, "fresh.img")}` });
		expect(r.ok).toBe(false);
		expect(r.code).toBe("REFRESH_STALE_BASE");
		// Built on the served image, then a file made a folder by hand: same nodeid, other type.
		await writeViewImage({ root: fx.tree, objectsDir: join(fx.storeDir, "objects"), path: join(dir, "typed.img"), previous: join(m.runtimeDir, "view.img") });
		const b = await readFile(join(dir, "typed.img"));
		const inodesOff = Number(b.readBigUInt64LE(24));
		for (let i = 0; i < b.readUInt32LE(16); i++) {
			const o = inodesOff + 88 * i;
			if ((b.readUInt32LE(o) & 0o170000) === 0o120000) {
				b.writeUInt32LE(0o100444, o);
				break;
			}
		}
		await writeFile(join(dir, "typed.img"), b);
		r = await sendControl({ runtimeDir: m.runtimeDir, request: `refresh ${join(dir, "typed.img")}` });
		expect(r.ok).toBe(false);
		expect(["REFRESH_NODEID_CHANGED", "MOUNT_BAD_IMAGE"]).toContain(r.code);
		expect((await readMountStats({ runtimeDir: m.runtimeDir }))?.refreshes).toBe(0);
	});

	it("is not hurt by writes into the live view.img: the daemon serves its own copy", async () => {
		const { fx, mnt, m } = await setup();
		const img = join(m.runtimeDir, "view.img");
		const fh = await open(img, "r+");
		await fh.write(Buffer.alloc(4096, 0xff), 0, 4096, 0);
		await fh.truncate(200);
		await fh.close();
		const p = "/models--org--alpha/blobs/tok";
		expect(sha256(await readFile(join(mnt, p)))).toBe(sha256(fx.files.get(p) as Buffer));
		expect((await readdir(join(mnt, "models--org--beta/snapshots", "b".repeat(40)))).sort()).toEqual(["config.json", "empty.txt", "model.safetensors", "tokenizer"]);
		const stats = await readMountStats({ runtimeDir: m.runtimeDir });
		expect(stats?.daemonStarts).toBe(1);
	});
});
