import { readFileSync } from "node:fs";
import { link, open, readFile, rename, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { StoreError } from "../errors.js";
import { STORE_PATHS } from "./storeFormat.js";

/** What the lock file holds: enough to tell whether its owner still runs. */
interface LockOwner {
	pid: number;
	host: string;
	/** Process start time from /proc/<pid>/stat, so a reused pid is not taken for the owner. */
	start: string | null;
}

export interface AcquireWriterLockParams {
	/** The store directory. */
	storeDir: string;
	/** Wait for the holder to finish instead of failing. @default false */
	wait?: boolean;
	/** Stops waiting. */
	signal?: AbortSignal;
	/** Poll interval while waiting. @default 200 */
	pollMs?: number;
}

function startTime(pid: number): string | null {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		// Field 22 (starttime), counted after the ")" that ends the command name.
		return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
	} catch {
		return null;
	}
}

function alive(owner: LockOwner): boolean {
	try {
		process.kill(owner.pid, 0);
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
	}
	const start = startTime(owner.pid);
	return owner.start === null || start === null || start === owner.start;
}

async function readOwner(path: string): Promise<LockOwner | null> {
	try {
		const o = JSON.parse(await readFile(path, "utf8")) as LockOwner;
		return typeof o?.pid === "number" ? o : { pid: 0, host: "", start: null };
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
		// A lock file cut short by a crash while it was written: treat as dead.
		if (err instanceof SyntaxError) return { pid: 0, host: hostname(), start: null };
		throw err;
	}
}

async function tryCreate(path: string, me: LockOwner): Promise<boolean> {
	try {
		const fh = await open(path, "wx", 0o644);
		try {
			await fh.writeFile(JSON.stringify(me));
			await fh.sync();
		} finally {
			await fh.close();
		}
		return true;
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
		throw err;
	}
}

/**
 * Takes the store's single writer lock (`<store>/lock`, created with O_EXCL,
 * holding pid, host and process start time). A lock left by a dead process on
 * this host is taken over; a live holder is an error naming its pid, or is
 * waited for with `wait`. Returns the release function.
 */
export async function acquireWriterLock(params: AcquireWriterLockParams): Promise<() => Promise<void>> {
	const path = join(params.storeDir, STORE_PATHS.lock);
	const me: LockOwner = { pid: process.pid, host: hostname(), start: startTime(process.pid) };
	const release = async () => {
		const owner = await readOwner(path);
		if (owner && owner.pid === me.pid && owner.host === me.host) await unlink(path).catch(() => undefined);
	};
	for (;;) {
		params.signal?.throwIfAborted();
		if (await tryCreate(path, me)) return release;
		const owner = await readOwner(path);
		if (owner === null) continue;
		if (owner.host === me.host && owner.pid === me.pid) {
			throw new StoreError("STORE_LOCKED", `store ${params.storeDir} is already open for writing in this process (pid ${me.pid})`, {
				hint: "close the first store handle before opening another writer",
			});
		}
		if (owner.host === me.host && !alive(owner)) {
			// Move the dead lock aside under a unique name: of two processes taking
			// over at once, only one rename succeeds, the other sees ENOENT and retries.
			const aside = `${path}.stale-${process.pid}-${Date.now()}`;
			try {
				await rename(path, aside);
				const moved = await readOwner(aside);
				if (moved && (moved.pid !== owner.pid || moved.start !== owner.start)) {
					// We moved a fresh lock someone created meanwhile: put it back
					// (link fails if yet another one is there already).
					await link(aside, path).catch(() => undefined);
				}
				await unlink(aside);
			} catch (err) {
				if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
			}
			continue;
		}
		if (!params.wait) {
			const where = owner.host === me.host ? `pid ${owner.pid}` : `pid ${owner.pid} on host ${owner.host}`;
			throw new StoreError("STORE_LOCKED", `store ${params.storeDir} is locked by another writer (${where})`, {
				hint: owner.host === me.host ? "wait for it to finish, or run again with --wait" : `wait for it to finish or run again with --wait; if that host is gone, remove ${path}`,
			});
		}
		await sleep(params.pollMs ?? 200, undefined, { signal: params.signal });
	}
}
