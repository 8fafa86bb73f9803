import { existsSync } from "node:fs";
import { access, constants, mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { IndexError, StoreError } from "../errors.js";
import { acquireWriterLock } from "./acquireWriterLock.js";
import { listCatalogGenerations } from "./catalog/listCatalogGenerations.js";
import { publishCatalog } from "./catalog/publishCatalog.js";
import { StoreIndex } from "./index/StoreIndex.js";
import { fsyncDir } from "./objects/fsyncDir.js";
import { isNetworkFilesystem } from "./objects/isNetworkFilesystem.js";
import { tmpName } from "./objects/tmpName.js";
import { readStoreFormat } from "./readStoreFormat.js";
import { Store } from "./Store.js";
import { PARTIAL_MAX_AGE_MS, PARTIAL_PREFIX, STORE_FORMAT, STORE_PATHS, type StoreMeta } from "./storeFormat.js";

export interface OpenStoreParams {
	/** The store directory (see resolveStoreDir). */
	storeDir: string;
	/** Take the single writer lock and open the index read-write. @default false */
	write?: boolean;
	/** With `write`: wait for another writer to finish instead of failing. @default false */
	wait?: boolean;
	/** Create the store if it does not exist (`modelfs init`); implies `write`. @default false */
	create?: boolean;
	/** With `create`: told once, with the store directory, when the store did not exist and was just made. @default none */
	onCreated?: (storeDir: string) => void;
	/** Stops waiting for the lock. */
	signal?: AbortSignal;
}

const SUBDIRS = [STORE_PATHS.objects, STORE_PATHS.tmp, STORE_PATHS.catalog, STORE_PATHS.quarantine] as const;

/** Makes the store's folders and format file; true when the store did not exist before. */
async function createStore(dir: string): Promise<boolean> {
	await mkdir(dir, { recursive: true });
	for (const sub of SUBDIRS) await mkdir(join(dir, sub), { recursive: true });
	if (existsSync(join(dir, STORE_PATHS.meta))) return false;
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
	return true;
}

/**
 * Removes what dead writers left in tmp/. Called with the writer lock held, so
 * no other live process writes there; resumable partial downloads survive
 * unless they are older than PARTIAL_MAX_AGE_MS.
 */
async function cleanTmp(dir: string): Promise<void> {
	const tmpDir = join(dir, STORE_PATHS.tmp);
	const now = Date.now();
	for (const name of await readdir(tmpDir)) {
		const path = join(tmpDir, name);
		if (name.startsWith(PARTIAL_PREFIX)) {
			const st = await stat(path).catch(() => null);
			if (st && now - st.mtimeMs > PARTIAL_MAX_AGE_MS) await rm(path, { force: true, recursive: true });
			continue;
		}
		const pid = Number(/^[a-z]+-(\d+)-/.exec(name)?.[1] ?? NaN);
		// Our own files (another handle in this process) are live; everything else is a dead writer's.
		if (pid === process.pid) continue;
		await rm(path, { force: true, recursive: true });
	}
}

function writable(err: unknown): never {
	const code = (err as NodeJS.ErrnoException).code;
	throw new StoreError("STORE_READ_ONLY", `store is not writable (${code})`, {
		cause: err,
		hint: "this node can read the store (ls, info, mount) but not change it; run import/ingest/rm/gc on the writer node",
	});
}

/**
 * Opens a store. Readers get the index read-only (or none, on a read-only
 * mount: read commands then use the published catalog). Writers take the
 * single writer lock, clean tmp/ of dead writers' files and republish the
 * catalog if a crash left it behind the index.
 */
export async function openStore(params: OpenStoreParams): Promise<Store> {
	if (typeof params?.storeDir !== "string" || params.storeDir === "") throw new TypeError("openStore: `storeDir` must be a non-empty string");
	const dir = resolve(params.storeDir);
	const write = params.write === true || params.create === true;
	if (params.create) {
		try {
			if (await createStore(dir)) params.onCreated?.(dir);
		} catch (err) {
			const code = (err as NodeJS.ErrnoException).code;
			if (code === "EROFS" || code === "EACCES" || code === "EPERM") writable(err);
			throw err;
		}
	}
	await readStoreFormat({ storeDir: dir });
	const indexPath = join(dir, STORE_PATHS.index);

	if (!write) {
		let index: StoreIndex | null = null;
		// On a shared filesystem only the writer's host may open LMDB; readers
		// elsewhere build everything from the catalog.
		if (existsSync(join(indexPath, "data.mdb")) && !(await isNetworkFilesystem(dir))) {
			try {
				index = new StoreIndex({ path: indexPath, readOnly: true });
			} catch {
				// A read-only mount without LMDB's lock file, or another host's env:
				// readers fall back to the published catalog.
				index = null;
			}
		}
		return new Store({ dir, readOnly: true, index, release: null });
	}

	try {
		await access(dir, constants.W_OK);
	} catch (err) {
		writable(err);
	}
	let release: (() => Promise<void>) | null = null;
	try {
		release = await acquireWriterLock({ storeDir: dir, wait: params.wait, signal: params.signal });
	} catch (err) {
		const code = (err as NodeJS.ErrnoException).code;
		if (code === "EROFS" || code === "EACCES") writable(err);
		throw err;
	}
	let index: StoreIndex | null = null;
	try {
		for (const sub of SUBDIRS) await mkdir(join(dir, sub), { recursive: true });
		await cleanTmp(dir);
		try {
			index = new StoreIndex({ path: indexPath, readOnly: false });
		} catch (err) {
			throw new IndexError("INDEX_OPEN_FAILED", `cannot open the index at ${indexPath}: ${(err as Error).message}`, {
				cause: err,
				hint: "check the permissions and free space of the store; an index on a network filesystem must be opened by one host only",
			});
		}
		const store = new Store({ dir, readOnly: false, index, release });
		const published = (await listCatalogGenerations(dir))[0] ?? 0;
		if (index.generation() > published) await publishCatalog({ store });
		return store;
	} catch (err) {
		await index?.close().catch(() => undefined);
		await release();
		throw err;
	}
}
