/**
 * A pool of hash worker threads sized to the cores. Files are hashed one per
 * worker at a time (p-limit), streams (downloads) are multiplexed over the
 * workers. Idle workers are unref'd so they never keep the process alive.
 */
import { availableParallelism } from "node:os";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import pLimit, { type LimitFunction } from "p-limit";
import type { HashResult, WorkerErrorInfo, WorkerReply, WorkerRequest } from "./HashMessages.js";

interface Pending {
	resolve: (value: unknown) => void;
	reject: (err: Error) => void;
	onProgress?: (bytes: number) => void;
}

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

export class HashStream {
	readonly resumedBytes: number;
	#pool: HashPool;
	#id: number;
	#slot: Slot;
	#seq = 0;
	#acks = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
	#closed = false;

	constructor(pool: HashPool, id: number, slot: Slot, resumedBytes: number) {
		this.#pool = pool;
		this.#id = id;
		this.#slot = slot;
		this.resumedBytes = resumedBytes;
	}

	/** @internal the worker died: every pending write fails. */
	fail(err: Error): void {
		for (const a of this.#acks.values()) a.reject(err);
		this.#acks.clear();
	}

	/** @internal */
	get slot(): Slot {
		return this.#slot;
	}

	/** @internal called by the pool on an ack. */
	onAck(seq: number, error?: WorkerErrorInfo): void {
		const a = this.#acks.get(seq);
		if (!a) return;
		this.#acks.delete(seq);
		if (error) a.reject(toError(error));
		else a.resolve();
	}

	/** Appends and hashes `data` (transferred: the caller must not reuse it); resolves once written. */
	send(data: Uint8Array): Promise<void> {
		const seq = this.#seq++;
		const p = new Promise<void>((resolve, reject) => this.#acks.set(seq, { resolve, reject }));
		const transfer = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && !(data.buffer instanceof SharedArrayBuffer) ? [data.buffer as ArrayBuffer] : [];
		this.#slot.worker.postMessage({ type: "chunk", id: this.#id, seq, data } satisfies WorkerRequest, transfer);
		return p;
	}

	/** fsyncs and closes the file; resolves with the digests of every byte (resumed ones included). */
	async finish(): Promise<HashResult> {
		this.#closed = true;
		try {
			return (await this.#pool.request(this.#slot, { type: "finish", id: this.#id })) as HashResult;
		} finally {
			this.#pool.releaseStream(this.#slot, this.#id);
		}
	}

	/** Closes the file without digests. */
	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		try {
			await this.#pool.request(this.#slot, { type: "close", id: this.#id });
		} finally {
			this.#pool.releaseStream(this.#slot, this.#id);
		}
	}
}

export class HashPool {
	readonly size: number;
	#slots: Slot[] = [];
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
				for (const st of this.#streams.values()) if (st.slot.worker === worker) st.fail(err);
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
			this.#streams.get(m.id)?.onAck(m.seq, m.error);
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

	/** Hashes one file in one read pass (and copies it to `copyTo` on the way). */
	runFile(params: {
		path: string;
		sha256: boolean;
		sha1: boolean;
		copyTo?: string;
		signal?: AbortSignal;
		onProgress?: (bytes: number) => void;
	}): Promise<HashResult> {
		return this.#limit(async () => {
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
		});
	}

	/** Opens a stream that appends to `path` and hashes what it writes. */
	async openStream(params: { path: string; size?: number; sha256: boolean; resume: boolean }): Promise<HashStream> {
		const slot = this.#slot();
		const id = this.#nextId++;
		slot.streams++;
		this.#ref(1);
		let resumedBytes: number;
		try {
			resumedBytes = (await this.request(slot, { type: "open", id, path: params.path, size: params.size, sha256: params.sha256, resume: params.resume })) as number;
		} catch (err) {
			slot.streams--;
			this.#ref(-1);
			throw err;
		}
		const stream = new HashStream(this, id, slot, resumedBytes);
		this.#streams.set(id, stream);
		return stream;
	}
}
