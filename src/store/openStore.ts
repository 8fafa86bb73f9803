import { existsSync } from "node:fs";
import { access, constants, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { IndexError, StoreError } from "../errors.js";
import { acquireWriterLock } from "./acquireWriterLock.js";
import { listCatalogGenerations } from "./catalog/listCatalogGenerations.js";
import { publishCatalog } from "./catalog/publishCatalog.js";
import { readCatalogFile } from "./catalog/readCatalogFile.js";
import { createStoreDir } from "./createStoreDir.js";
import { checkIndexFile } from "./index/checkIndexFile.js";
import { StoreIndex } from "./index/StoreIndex.js";
import { fsyncDir } from "./objects/fsyncDir.js";
import { isNetworkFilesystem } from "./objects/isNetworkFilesystem.js";
import { readStoreFormat } from "./readStoreFormat.js";
import { Store } from "./Store.js";
import { PARTIAL_MAX_AGE_MS, PARTIAL_PREFIX, STORE_PATHS, STORE_SUBDIRS } from "./storeFormat.js";

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
	/**
	 * Told, one line each, what a writer repaired on open (a damaged catalog set aside).
	 * @default `modelfs: <line>` on stderr
	 */
	onNote?: (line: string) => void;
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

/**
 * Moves the newest catalog generations that do not parse to quarantine/
 * (never deleted: they are evidence), so that readers stop warning and the
 * republish below has a number to compare with. Stops at the first that
 * parses. Called with the writer lock held.
 */
async function setAsideDamagedCatalogs(dir: string, onNote: (line: string) => void): Promise<void> {
	for (const generation of await listCatalogGenerations(dir)) {
		const path = join(dir, STORE_PATHS.catalog, String(generation));
		try {
			await readCatalogFile({ path });
			return;
		} catch (err) {
			if (!(err instanceof IndexError) || err.code !== "INDEX_CATALOG_CORRUPT") throw err;
			const to = join(dir, STORE_PATHS.quarantine, `catalog-${generation}.${Date.now()}`);
			await rename(path, to);
			await fsyncDir(join(dir, STORE_PATHS.catalog));
			onNote(`catalog ${path} did not parse: moved it to ${to}`);
		}
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
 * single writer lock, clean tmp/ of dead writers' files, set aside newest
 * catalogs that do not parse and republish the catalog if a crash (or that)
 * left it behind the index. Before LMDB maps `index/data.mdb`, checkIndexFile
 * refuses a damaged one with IndexError INDEX_CORRUPT (run rebuild-index).
 */
export async function openStore(params: OpenStoreParams): Promise<Store> {
	if (typeof params?.storeDir !== "string" || params.storeDir === "") throw new TypeError("openStore: `storeDir` must be a non-empty string");
	const dir = resolve(params.storeDir);
	const write = params.write === true || params.create === true;
	if (params.create) {
		try {
			if (await createStoreDir({ storeDir: dir })) params.onCreated?.(dir);
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
				// A damaged file would kill this process with SIGBUS once mapped.
				await checkIndexFile({ path: join(indexPath, "data.mdb") });
				index = new StoreIndex({ path: indexPath, readOnly: true });
			} catch (err) {
				if (err instanceof IndexError && err.code === "INDEX_CORRUPT") throw err;
				// A read-only mount without LMDB's lock file, another host's env, or
				// an index this user may not read: readers fall back to the published catalog.
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
		for (const sub of STORE_SUBDIRS) await mkdir(join(dir, sub), { recursive: true });
		await cleanTmp(dir);
		// A damaged file would kill this process with SIGBUS once mapped (and an
		// empty one would become a new, empty index under the catalog's repos).
		const dataMdb = join(indexPath, "data.mdb");
		const found = await checkIndexFile({ path: dataMdb }).catch((err: unknown) => {
			if (err instanceof IndexError) throw err;
			throw new IndexError("INDEX_OPEN_FAILED", `cannot read the index at ${dataMdb}: ${(err as Error).message}`, {
				cause: err,
				hint: "check the permissions of the store's index/ folder",
			});
		});
		if (found === null) {
			// LMDB would start an empty index, and gc would then see every blob
			// the published catalog names as garbage.
			const published = (await listCatalogGenerations(dir))[0];
			if (published !== undefined) {
				throw new IndexError(
					"INDEX_CORRUPT",
					`the store index ${dataMdb} is missing though catalog generation ${published} is published: run \`modelfs rebuild-index\` to rebuild it from the catalog and the objects`,
				);
			}
		}
		try {
			index = new StoreIndex({ path: indexPath, readOnly: false });
		} catch (err) {
			throw new IndexError("INDEX_OPEN_FAILED", `cannot open the index at ${indexPath}: ${(err as Error).message}`, {
				cause: err,
				hint: "check the permissions and free space of the store; an index on a network filesystem must be opened by one host only",
			});
		}
		const store = new Store({ dir, readOnly: false, index, release });
		await setAsideDamagedCatalogs(dir, params.onNote ?? ((line) => process.stderr.write(`modelfs: ${line}\n`)));
		const published = (await listCatalogGenerations(dir))[0] ?? 0;
		if (index.generation() > published) await publishCatalog({ store });
		return store;
	} catch (err) {
		await index?.close().catch(() => undefined);
		await release();
		throw err;
	}
}
