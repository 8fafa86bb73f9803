/**
 * A pool of hash worker threads sized to the cores. Files are hashed one per
 * worker at a time (p-limit), streams (downloads) are multiplexed over the
 * workers. Idle workers are unref'd so they never keep the process alive.
 */
import { constants } from "node:fs";
import { copyFile, open, unlink } from "node:fs/promises";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import pLimit, { type LimitFunction } from "p-limit";
import { allocateSharedChunks } from "./allocateSharedChunks.js";
import type { HashResult, WorkerErrorInfo, WorkerReply, WorkerRequest } from "./HashMessages.js";

interface Pending {
	resolve: (value: unknown) => void;
	reject: (err: Error) => void;
	onProgress?: (bytes: number) => void;
}

/** What runFile and copyFile take. */
export interface RunFileParams {
	path: string;
	sha256: boolean;
	sha1: boolean;
	/** Create this file (exclusively), write every byte read into it, fsync it. */
	copyTo?: string;
	/** Write the copy with O_DIRECT where the file system takes it (a split copy only; see createBlobWriter). */
	direct?: boolean;
	signal?: AbortSignal;
	onProgress?: (bytes: number) => void;
}

/** Errors that mean "this filesystem cannot share extents between these files". */
const NO_REFLINK = new Set(["ENOTSUP", "EOPNOTSUPP", "EXDEV", "EINVAL", "ENOSYS", "ENOTTY", "EPERM", "EBADF"]);

/** Chunks of a split copy, and how many are in flight (ring of shared buffers). */
const COPY_CHUNK = 8 << 20;
const COPY_RING = 4;

interface Slot {
	worker: Worker;
	files: number;
	streams: number;
}

/** Turns a worker's error description back into an Error with its errno code. */
function toError(info: WorkerErrorInfo): Error {
	if (info.code === "ABORT_ERR") return Object.assign(new Error("The operation was aborted"), { name: "AbortError", code: "ABORT_ERR" });
	return Object.assign(new Error(info.message), { code: info.code, syscall: info.syscall, path: info.path });
}

function spawnWorker(): Worker {
	const here = import.meta.url;
	if (here.endsWith(".ts")) {
		// Running from source (tsx, vitest): the worker needs the TypeScript loader too.
		// The ESM entry of tsx/esm/api (its CommonJS build cannot register ESM hooks here).
		const require = createRequire(here);
		const tsxPkg = require.resolve("tsx/package.json");
		const tsxApi = new URL("dist/esm/api/index.mjs", pathToFileURL(tsxPkg)).href;
		const entry = new URL("./hashWorker.ts", here).href;
		const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
		return new Worker(code, { eval: true });
	}
	return new Worker(new URL("./hashWorker.js", here));
}

/** One worker's share of a stream. */
interface StreamPart {
	slot: Slot;
	id: number;
	acks: Map<number, { resolve: () => void; reject: (e: Error) => void }>;
}

/**
 * A stream of chunks appended to a file and hashed. With two workers it is
 * split: one writes and computes BLAKE3 (and sha1), the other computes
 * sha256 over the same shared chunks, so one fast download uses two cores.
 */
export class HashStream {
	readonly resumedBytes: number;
	#pool: HashPool;
	#parts: StreamPart[];
	#seq = 0;
	#closed = false;

	constructor(pool: HashPool, parts: StreamPart[], resumedBytes: number) {
		this.#pool = pool;
		this.#parts = parts;
		this.resumedBytes = resumedBytes;
	}

	/** True when sha256 runs on a second worker (then send() wants shared memory to avoid a copy). */
	get split(): boolean {
		return this.#parts.length > 1;
	}

	/** @internal the worker died: every pending write fails. */
	fail(worker: Worker, err: Error): void {
		for (const p of this.#parts) {
			if (p.slot.worker !== worker) continue;
			for (const a of p.acks.values()) a.reject(err);
			p.acks.clear();
		}
	}

	/** @internal called by the pool on an ack. */
	onAck(id: number, seq: number, error?: WorkerErrorInfo): void {
		const part = this.#parts.find((p) => p.id === id);
		const a = part?.acks.get(seq);
		if (!part || !a) return;
		part.acks.delete(seq);
		if (error) a.reject(toError(error));
		else a.resolve();
	}

	/**
	 * Appends and hashes `data`; resolves once written and hashed. A plain
	 * ArrayBuffer is transferred (the caller must not reuse it); for a split
	 * stream pass a SharedArrayBuffer-backed chunk, else it is copied.
	 */
	send(data: Uint8Array): Promise<void> {
		const seq = this.#seq++;
		let chunk = data;
		if (this.split && !(data.buffer instanceof SharedArrayBuffer)) {
			chunk = new Uint8Array(new SharedArrayBuffer(data.byteLength));
			chunk.set(data);
		}
		const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && !(chunk.buffer instanceof SharedArrayBuffer);
		const transfer = whole ? [chunk.buffer as ArrayBuffer] : [];
		return Promise.all(
			this.#parts.map((part) => {
				const p = new Promise<void>((resolve, reject) => part.acks.set(seq, { resolve, reject }));
				part.slot.worker.postMessage({ type: "chunk", id: part.id, seq, data: chunk } satisfies WorkerRequest, transfer);
				return p;
			}),
		).then(() => undefined);
	}

	/** fsyncs and closes the file; resolves with the digests of every byte (resumed ones included). */
	async finish(): Promise<HashResult> {
		this.#closed = true;
		try {
			const results = (await Promise.all(this.#parts.map((p) => this.#pool.request(p.slot, { type: "finish", id: p.id })))) as HashResult[];
			const [main, helper] = results;
			if (!helper) return main;
			if (helper.size !== main.size) throw new Error(`hash stream halves disagree on the size (${main.size} vs ${helper.size})`);
			return { ...main, sha256: helper.sha256 };
		} finally {
			this.#release();
		}
	}

	/** Closes the file without digests. */
	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		try {
			await Promise.all(this.#parts.map((p) => this.#pool.request(p.slot, { type: "close", id: p.id })));
		} finally {
			this.#release();
		}
	}

	#release(): void {
		for (const p of this.#parts) this.#pool.releaseStream(p.slot, p.id);
	}
}

export class HashPool {
	readonly size: number;
	#slots: Slot[] = [];
	/** Free read rings of split copies (at most one per copy running at once). */
	#rings: Uint8Array[][] = [];
	#pending = new Map<number, Pending>();
	#streams = new Map<number, HashStream>();
	#nextId = 1;
	#active = 0;
	#limit: LimitFunction;

	constructor(size: number = Math.max(1, availableParallelism())) {
		this.size = size;
		this.#limit = pLimit(size);
	}

	#slot(): Slot {
		if (this.#slots.length < this.size) {
			const worker = spawnWorker();
			worker.on("message", (m: WorkerReply) => this.#onReply(m));
			const onDeath = (err: Error) => {
				// A crashed worker fails everything in flight; the next task gets a fresh one.
				if (!this.#slots.some((s) => s.worker === worker)) return;
				for (const p of this.#pending.values()) p.reject(err);
				this.#pending.clear();
				for (const st of new Set(this.#streams.values())) st.fail(worker, err);
				this.#slots = this.#slots.filter((s) => s.worker !== worker);
			};
			worker.on("error", onDeath);
			worker.on("exit", (code) => onDeath(new Error(`hash worker exited with code ${code}`)));
			worker.unref();
			const slot = { worker, files: 0, streams: 0 };
			this.#slots.push(slot);
			return slot;
		}
		return this.#slots.reduce((a, b) => (a.files * 4 + a.streams <= b.files * 4 + b.streams ? a : b));
	}

	#onReply(m: WorkerReply): void {
		if (m.type === "ack") {
			this.#streams.get(m.id)?.onAck(m.id, m.seq, m.error);
			return;
		}
		const p = this.#pending.get(m.id);
		if (!p) return;
		if (m.type === "progress") {
			p.onProgress?.(m.bytes);
			return;
		}
		if (m.type === "error") {
			this.#pending.delete(m.id);
			p.reject(toError(m.error));
			return;
		}
		if (m.type === "opened" || m.type === "done" || m.type === "closed") {
			this.#pending.delete(m.id);
			p.resolve(m.type === "opened" ? m.resumedBytes : m.type === "done" ? m.result : undefined);
		}
	}

	#ref(delta: number): void {
		this.#active += delta;
		for (const s of this.#slots) {
			if (this.#active > 0) s.worker.ref();
			else s.worker.unref();
		}
	}

	/** @internal */
	request(slot: Slot, msg: WorkerRequest, onProgress?: (bytes: number) => void): Promise<unknown> {
		return new Promise((resolve, reject) => {
			this.#pending.set(msg.id, { resolve, reject, onProgress });
			slot.worker.postMessage(msg);
		});
	}

	/** @internal */
	releaseStream(slot: Slot, id: number): void {
		if (!this.#streams.has(id)) return;
		this.#streams.delete(id);
		slot.streams--;
		this.#ref(-1);
	}

	/** Hashes one file in one read pass (and copies it to `copyTo` on the way), one file per worker. */
	runFile(params: RunFileParams): Promise<HashResult> {
		return this.#limit(() => this.#runFileNow(params));
	}

	async #runFileNow(params: RunFileParams): Promise<HashResult> {
		params.signal?.throwIfAborted();
		const slot = this.#slots.find((s) => s.files === 0) ?? this.#slot();
		const cancel = new Int32Array(new SharedArrayBuffer(4));
		const onAbort = () => Atomics.store(cancel, 0, 1);
		params.signal?.addEventListener("abort", onAbort, { once: true });
		slot.files++;
		this.#ref(1);
		try {
			const id = this.#nextId++;
			return (await this.request(
				slot,
				{ type: "file", id, path: params.path, sha256: params.sha256, sha1: params.sha1, copyTo: params.copyTo, cancel },
				params.onProgress,
			)) as HashResult;
		} finally {
			slot.files--;
			this.#ref(-1);
			params.signal?.removeEventListener("abort", onAbort);
		}
	}

	/**
	 * Copies `path` to `copyTo` (created exclusively, fsynced) and hashes it in
	 * one read pass. On a filesystem with reflinks the copy is a clone and the
	 * clone is hashed. Otherwise, with two or more workers, the file is read
	 * in shared-memory chunks that one worker writes (and BLAKE3s) while
	 * another computes sha256, so a single large file keeps two cores busy;
	 * with one worker it all runs there. At most `size` files at once.
	 */
	copyFile(params: RunFileParams & { copyTo: string }): Promise<HashResult> {
		return this.#limit(async () => {
			if (!params.sha256 || this.size < 2) return this.#runFileNow(params);
			params.signal?.throwIfAborted();
			try {
				await copyFile(params.path, params.copyTo, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
				const r = await this.#runFileNow({ ...params, copyTo: undefined });
				const fh = await open(params.copyTo, "r");
				try {
					await fh.sync();
				} finally {
					await fh.close();
				}
				return r;
			} catch (err) {
				const code = (err as NodeJS.ErrnoException).code ?? "";
				if (!NO_REFLINK.has(code)) throw err;
				await unlink(params.copyTo).catch(() => undefined);
			}
			return this.#copyThroughStream(params);
		});
	}

	async #copyThroughStream(params: RunFileParams & { copyTo: string }): Promise<HashResult> {
		const fh = await open(params.path, "r");
		try {
			const { size } = await fh.stat();
			const stream = await this.openStream({ path: params.copyTo, size: params.sha1 ? size : undefined, sha256: true, resume: false, direct: params.direct });
			// Page-aligned (O_DIRECT writes take it as is) and kept for the next copy.
			const ring = this.#rings.pop() ?? allocateSharedChunks({ count: COPY_RING, size: COPY_CHUNK });
			const inFlight: Array<Promise<void>> = [];
			try {
				let pos = 0;
				for (let i = 0; ; i++) {
					params.signal?.throwIfAborted();
					// A ring slot is reused only after the chunk sent from it COPY_RING chunks ago is done.
					if (inFlight.length >= COPY_RING - 1) await inFlight.shift();
					const buf = ring[i % COPY_RING];
					const { bytesRead } = await fh.read(buf, 0, COPY_CHUNK, pos);
					if (bytesRead === 0) break;
					pos += bytesRead;
					const sent = stream.send(bytesRead === COPY_CHUNK ? buf : buf.subarray(0, bytesRead));
					// Keep a rejection from going unhandled while it waits in the queue.
					sent.catch(() => undefined);
					inFlight.push(sent);
					params.onProgress?.(bytesRead);
				}
				await Promise.all(inFlight);
				// Every chunk was acked by both workers: the ring is free. (After a
				// failed send it is dropped: one worker may still be reading it.)
				if (this.#rings.length < this.size) this.#rings.push(ring);
				const r = await stream.finish();
				if (params.sha1 && r.size !== size) {
					throw Object.assign(new Error(`${params.path} changed size while being read (${size} -> ${r.size} bytes)`), { code: "ESIZECHANGED" });
				}
				return r;
			} catch (err) {
				await Promise.allSettled(inFlight);
				await stream.close().catch(() => undefined);
				throw err;
			}
		} finally {
			await fh.close();
		}
	}

	/**
	 * Opens a stream that appends to `path` and hashes what it writes. With
	 * two or more workers and sha256 wanted, sha256 runs on a second worker.
	 */
	async openStream(params: { path: string; size?: number; sha256: boolean; resume: boolean; direct?: boolean }): Promise<HashStream> {
		const main = this.#slot();
		const split = params.sha256 && this.size >= 2;
		const parts: StreamPart[] = [];
		const open = async (slot: Slot, msg: Omit<Extract<WorkerRequest, { type: "open" }>, "id" | "type">) => {
			const id = this.#nextId++;
			slot.streams++;
			this.#ref(1);
			const part: StreamPart = { slot, id, acks: new Map() };
			parts.push(part);
			return (await this.request(slot, { type: "open", id, ...msg })) as number;
		};
		let resumedBytes = 0;
		try {
			resumedBytes = await open(main, { path: params.path, write: true, blake3: true, size: params.size, sha256: !split, resume: params.resume, direct: params.direct });
			if (split) {
				// The other worker: the least loaded one that is not `main` (spawned if missing).
				const helper =
					this.#slots.length < this.size ? this.#slot() : this.#slots.filter((s) => s !== main).reduce((a, b) => (a.files * 4 + a.streams <= b.files * 4 + b.streams ? a : b));
				const helperBytes = await open(helper, { path: params.path, write: false, blake3: false, sha256: true, resume: params.resume });
				if (helperBytes !== resumedBytes) throw new Error(`resumed partial ${params.path} changed while it was opened`);
			}
		} catch (err) {
			for (const p of parts) {
				await this.request(p.slot, { type: "close", id: p.id }).catch(() => undefined);
				p.slot.streams--;
				this.#ref(-1);
			}
			throw err;
		}
		const stream = new HashStream(this, parts, resumedBytes);
		for (const p of parts) this.#streams.set(p.id, stream);
		return stream;
	}
}
