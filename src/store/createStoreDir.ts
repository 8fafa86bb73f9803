import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fsyncDir } from "./objects/fsyncDir.js";
import { tmpName } from "./objects/tmpName.js";
import { STORE_FORMAT, STORE_PATHS, STORE_SUBDIRS, type StoreMeta } from "./storeFormat.js";

export interface CreateStoreDirParams {
	/** The store directory, absolute. */
	storeDir: string;
}

/** `.<name>.creating-<pid>-<hex>`: a store being made beside the one it becomes. */
const stagingPrefix = (storeDir: string) => `.${basename(storeDir)}.creating-`;

/**
 * Makes the store's folders and format file; true when the store did not exist
 * before. A new store appears whole or not at all: it is made in a sibling
 * folder and renamed into place (rename(2) replaces a missing or empty folder),
 * so a run killed halfway, or a reader meanwhile, never finds a folder without
 * `modelfs.json`. Where that cannot be done (the folder holds files already, is
 * a mount point, or its parent is not writable) the store is made in place, as
 * an interrupted run left it, and the next run finishes it.
 */
export async function createStoreDir(params: CreateStoreDirParams): Promise<boolean> {
	const dir = params.storeDir;
	// An existing store's missing folders are made by openStore, as for every writer.
	if (existsSync(join(dir, STORE_PATHS.meta))) return false;
	const parent = dirname(dir);
	await mkdir(parent, { recursive: true });
	await removeDeadStaging(dir);
	const staging = join(parent, `${stagingPrefix(dir)}${process.pid}-${randomBytes(4).toString("hex")}`);
	let staged = false;
	try {
		await mkdir(staging);
		staged = true;
		await writeStore(staging);
		await rename(staging, dir);
		staged = false;
		await fsyncDir(parent);
		return true;
	} catch (err) {
		const code = (err as NodeJS.ErrnoException).code;
		// ENOTEMPTY/EEXIST: the folder has files (or another run was first); EXDEV/EBUSY: a mount point.
		if (!["ENOTEMPTY", "EEXIST", "EXDEV", "EBUSY", "EACCES", "EPERM", "EROFS", "EISDIR", "ENOTDIR"].includes(code ?? "")) throw err;
	} finally {
		if (staged) await rm(staging, { recursive: true, force: true });
	}
	await mkdir(dir, { recursive: true });
	if (existsSync(join(dir, STORE_PATHS.meta))) return false;
	await writeStore(dir);
	return true;
}

/** The subfolders, then `modelfs.json` (tmp, fsync, rename), in `dir`. */
async function writeStore(dir: string): Promise<void> {
	for (const sub of STORE_SUBDIRS) await mkdir(join(dir, sub), { recursive: true });
	const meta: StoreMeta = { format: STORE_FORMAT, createdAt: new Date().toISOString() };
	const tmp = tmpName(dir, "meta");
	const fh = await open(tmp, "wx", 0o644);
	try {
		await fh.writeFile(`${JSON.stringify(meta, null, 2)}\n`);
		await fh.sync();
	} finally {
		await fh.close();
	}
	await rename(tmp, join(dir, STORE_PATHS.meta));
	await fsyncDir(dir);
}

/** Staging folders of runs that died before their rename (their pid is gone). */
async function removeDeadStaging(dir: string): Promise<void> {
	const prefix = stagingPrefix(dir);
	const names = await readdir(dirname(dir)).catch(() => [] as string[]);
	for (const name of names) {
		if (!name.startsWith(prefix)) continue;
		const pid = Number(name.slice(prefix.length).split("-")[0]);
		if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
		await rm(join(dirname(dir), name), { recursive: true, force: true });
	}
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === "EPERM";
	}
}
