import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { StoreError } from "../../src/errors.js";
import { commitSnapshot } from "../../src/store/index/commitSnapshot.js";
import { putFile } from "../../src/store/objects/putFile.js";
import { openStore } from "../../src/store/openStore.js";
import { resolveStoreDir } from "../../src/store/resolveStoreDir.js";
import { startChild } from "./childProcess.js";
import { tempDir } from "./storeFixtures.js";

/** A new store holding org/a at one commit with one small file; closed again. */
async function storeWithOneSnapshot(): Promise<string> {
	const storeDir = join(tempDir(), "store");
	const src = join(tempDir(), "f");
	writeFileSync(src, "weights");
	const store = await openStore({ storeDir, create: true });
	const blob = await putFile({ store, path: src, sha1: true });
	await commitSnapshot({
		store,
		snapshot: { repo: { type: "model", name: "org/a" }, commit: "c".repeat(40), files: [{ path: "w", blake3: blob.blake3, size: blob.size, etag: blob.sha1! }] },
	});
	await store.close();
	return storeDir;
}

describe("resolveStoreDir", () => {
	it("prefers --store, then MODELFS_STORE, then XDG_DATA_HOME, then ~/.local/share", () => {
		expect(resolveStoreDir({ store: "/a", env: { MODELFS_STORE: "/b" } })).toBe("/a");
		expect(resolveStoreDir({ env: { MODELFS_STORE: "/b", XDG_DATA_HOME: "/x" } })).toBe("/b");
		expect(resolveStoreDir({ env: { XDG_DATA_HOME: "/x" } })).toBe("/x/modelfs");
		expect(resolveStoreDir({ env: { HOME: "/home/u" } })).toBe("/home/u/.local/share/modelfs");
	});
});

describe("openStore", () => {
	it("creates the store layout and format file with create", async () => {
		const dir = join(tempDir(), "s");
		const store = await openStore({ storeDir: dir, create: true });
		await store.close();
		for (const sub of ["objects", "tmp", "catalog", "index", "quarantine"]) expect(existsSync(join(dir, sub))).toBe(true);
		expect(JSON.parse(readFileSync(join(dir, "modelfs.json"), "utf8")).format).toBe(1);
		expect(existsSync(join(dir, "lock"))).toBe(false);
	});

	it("says clearly that there is no store", async () => {
		await expect(openStore({ storeDir: join(tempDir(), "none") })).rejects.toMatchObject({ code: "STORE_NOT_FOUND" });
	});

	it("refuses a store of a newer format with a clear message", async () => {
		const dir = join(tempDir(), "s");
		await (await openStore({ storeDir: dir, create: true })).close();
		writeFileSync(join(dir, "modelfs.json"), JSON.stringify({ format: 2 }));
		const err = await openStore({ storeDir: dir }).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(StoreError);
		expect(err).toMatchObject({ code: "STORE_FORMAT_NEWER" });
		expect((err as Error).message).toContain("format 2");
	});

	it("gives a second writer (another process) an error naming the holder's pid", async () => {
		const dir = join(tempDir(), "s");
		await (await openStore({ storeDir: dir, create: true })).close();
		const holder = startChild(["hold", dir]);
		expect(await holder.line).toBe("locked");
		const err = await openStore({ storeDir: dir, write: true }).catch((e: unknown) => e);
		expect(err).toMatchObject({ code: "STORE_LOCKED" });
		expect((err as Error).message).toContain(`pid ${holder.child.pid}`);
		// Readers are not blocked by the writer.
		const reader = await openStore({ storeDir: dir });
		expect(reader.readOnly).toBe(true);
		await reader.close();
		holder.child.stdin!.end();
		await holder.exit;
	});

	it("waits for the holder with wait, then takes the lock", async () => {
		const dir = join(tempDir(), "s");
		await (await openStore({ storeDir: dir, create: true })).close();
		const holder = startChild(["hold", dir]);
		await holder.line;
		const waiting = openStore({ storeDir: dir, write: true, wait: true });
		let done = false;
		void waiting.then(() => (done = true));
		await new Promise((r) => setTimeout(r, 500));
		expect(done).toBe(false);
		holder.child.stdin!.end();
		const store = await waiting;
		expect(store.readOnly).toBe(false);
		expect(JSON.parse(readFileSync(join(dir, "lock"), "utf8")).pid).toBe(process.pid);
		await store.close();
	});

	it("takes over a lock left by a dead process", async () => {
		const dir = join(tempDir(), "s");
		await (await openStore({ storeDir: dir, create: true })).close();
		const dead = spawnSync("true").pid;
		writeFileSync(join(dir, "lock"), JSON.stringify({ pid: dead, host: hostname(), start: "1" }));
		const store = await openStore({ storeDir: dir, write: true });
		expect(JSON.parse(readFileSync(join(dir, "lock"), "utf8")).pid).toBe(process.pid);
		await store.close();
		expect(existsSync(join(dir, "lock"))).toBe(false);
	});

	it("cleans dead writers' tmp files but keeps recent partial downloads", async () => {
		const dir = join(tempDir(), "s");
		await (await openStore({ storeDir: dir, create: true })).close();
		const tmp = join(dir, "tmp");
		mkdirSync(tmp, { recursive: true });
		writeFileSync(join(tmp, "blob-999999-0-abcdef"), "half a blob");
		writeFileSync(join(tmp, "partial-recent"), "resumable");
		writeFileSync(join(tmp, "partial-old"), "stale");
		const old = new Date(Date.now() - 8 * 24 * 3600 * 1000);
		utimesSync(join(tmp, "partial-old"), old, old);
		const store = await openStore({ storeDir: dir, write: true });
		await store.close();
		expect(existsSync(join(tmp, "blob-999999-0-abcdef"))).toBe(false);
		expect(existsSync(join(tmp, "partial-recent"))).toBe(true);
		expect(existsSync(join(tmp, "partial-old"))).toBe(false);
	});

	it("refuses a damaged index/data.mdb before mapping it, as reader and as writer, and leaves the writer lock free", async () => {
		const storeDir = await storeWithOneSnapshot();
		truncateSync(join(storeDir, "index", "data.mdb"), 4096 * 3);
		await expect(openStore({ storeDir })).rejects.toMatchObject({ code: "INDEX_CORRUPT" });
		await expect(openStore({ storeDir, write: true })).rejects.toMatchObject({ code: "INDEX_CORRUPT" });
		// Not STORE_LOCKED: the refused writer released the lock.
		await expect(openStore({ storeDir, write: true })).rejects.toMatchObject({ code: "INDEX_CORRUPT" });
		expect(existsSync(join(storeDir, "lock"))).toBe(false);
	});

	it("a writer moves a newest catalog that does not parse to quarantine/ and publishes that generation again", async () => {
		const storeDir = await storeWithOneSnapshot();
		const newest = join(storeDir, "catalog", "1");
		chmodSync(newest, 0o644);
		writeFileSync(newest, "\0\0\0\0");
		const notes: string[] = [];
		await (await openStore({ storeDir, write: true, onNote: (line) => notes.push(line) })).close();
		expect(notes).toHaveLength(1);
		expect(notes[0]).toMatch(new RegExp(`^catalog ${newest} did not parse: moved it to .*/quarantine/catalog-1\\.`));
		const catalog = JSON.parse(readFileSync(newest, "utf8"));
		expect(catalog).toMatchObject({ format: 1, generation: 1 });
		expect(catalog.repos.map((r: { name: string }) => r.name)).toEqual(["org/a"]);
	});

	it("rejects a missing storeDir with a TypeError", async () => {
		await expect(openStore({ storeDir: "" })).rejects.toBeInstanceOf(TypeError);
	});
});
