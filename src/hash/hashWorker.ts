/**
 * Worker-thread side of HashPool: reads files and stream chunks, feeds
 * BLAKE3, sha256 and git sha1 in one pass, and writes the bytes to their tmp
 * file, so the main thread never touches file data.
 */
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { createHash, type Hash } from "node:crypto";
import { closeSync, constants, copyFileSync, fstatSync, fsyncSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import type { FileTask, HashResult, StreamOpen, WorkerErrorInfo, WorkerReply, WorkerRequest } from "./HashMessages.js";

/** Large reads keep per-call overhead of the three hashers negligible. */
const CHUNK = 8 << 20;

interface Hashers {
	blake3: Blake3Hasher | null;
	sha256: Hash | null;
	sha1: Hash | null;
	size: number;
}

interface Stream {
	/** -1 for a hash-only stream. */
	fd: number;
	hashers: Hashers;
	failed: WorkerErrorInfo | null;
}

const port = parentPort;
if (!port) throw new Error("hashWorker must run in a worker thread");
const streams = new Map<number, Stream>();
let buffer: Buffer | null = null;

function post(reply: WorkerReply): void {
	port!.postMessage(reply);
}

function errorInfo(err: unknown): WorkerErrorInfo {
	const e = err as NodeJS.ErrnoException;
	return { message: e?.message ?? String(err), code: e?.code, syscall: e?.syscall, path: e?.path };
}

function newHashers(params: { blake3?: boolean; sha256: boolean; sha1Size: number | null }): Hashers {
	const sha1 = params.sha1Size === null ? null : createHash("sha1");
	// The git blob header makes sha1 equal to the hub's oid for non-LFS files.
	sha1?.update(`blob ${params.sha1Size}\0`);
	return { blake3: params.blake3 === false ? null : new Blake3Hasher(), sha256: params.sha256 ? createHash("sha256") : null, sha1, size: 0 };
}

function feed(h: Hashers, data: Uint8Array): void {
	// Blake3Hasher's typings take a Buffer: wrap the same memory, no copy.
	h.blake3?.update(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
	h.sha256?.update(data);
	h.sha1?.update(data);
	h.size += data.byteLength;
}

function digests(h: Hashers): HashResult {
	return {
		blake3: h.blake3 ? h.blake3.digest("hex") : "",
		sha256: h.sha256 ? h.sha256.digest("hex") : null,
		sha1: h.sha1 ? h.sha1.digest("hex") : null,
		size: h.size,
	};
}

/**
 * Bytes per write(2). Writes of 2 MiB and more let the kernel fill the page
 * cache with large folios, and on this VM copying into them often costs
 * several times the CPU (4 MiB writes: 0.2-2.5 sys-s per GiB from run to
 * run; 1 MiB writes of the same buffer: mostly 0.25). The syscall count
 * stays small.
 */
const WRITE_PIECE = 1 << 20;

function writeAll(fd: number, data: Uint8Array): void {
	let off = 0;
	while (off < data.byteLength) off += writeSync(fd, data, off, Math.min(WRITE_PIECE, data.byteLength - off));
}

/** Errors that mean "this filesystem cannot share extents between these files". */
const NO_REFLINK = new Set(["ENOTSUP", "EOPNOTSUPP", "EXDEV", "EINVAL", "ENOSYS", "ENOTTY", "EPERM", "EBADF"]);

/**
 * On filesystems with reflinks (XFS, btrfs) the copy costs no data writes:
 * clone first, then hash the clone, so the digests are exactly those of the
 * bytes stored even if the source changes meanwhile.
 */
function tryReflink(task: FileTask): boolean {
	if (!task.copyTo) return false;
	try {
		copyFileSync(task.path, task.copyTo, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
		return true;
	} catch (err) {
		if (NO_REFLINK.has((err as NodeJS.ErrnoException).code ?? "")) {
			try {
				unlinkSync(task.copyTo);
			} catch {
				// Not created: nothing to undo.
			}
			return false;
		}
		throw err;
	}
}

function runFile(task: FileTask): void {
	let src = -1;
	let dst = -1;
	try {
		const cloned = tryReflink(task);
		src = openSync(cloned ? (task.copyTo as string) : task.path, constants.O_RDONLY);
		const size = fstatSync(src).size;
		if (task.copyTo && !cloned) dst = openSync(task.copyTo, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
		const h = newHashers({ sha256: task.sha256, sha1Size: task.sha1 ? size : null });
		buffer ??= Buffer.allocUnsafe(CHUNK);
		let sinceProgress = 0;
		for (;;) {
			if (Atomics.load(task.cancel, 0) !== 0) {
				post({ type: "error", id: task.id, error: { message: "aborted", code: "ABORT_ERR" } });
				return;
			}
			const n = readSync(src, buffer, 0, CHUNK, null);
			if (n === 0) break;
			const view = buffer.subarray(0, n);
			feed(h, view);
			if (dst >= 0) writeAll(dst, view);
			sinceProgress += n;
			if (sinceProgress >= 32 << 20) {
				post({ type: "progress", id: task.id, bytes: sinceProgress });
				sinceProgress = 0;
			}
		}
		if (sinceProgress > 0) post({ type: "progress", id: task.id, bytes: sinceProgress });
		if (dst >= 0) fsyncSync(dst);
		if (cloned) fsyncSync(src);
		// sha1 was started with the size seen at open: a file that changed size
		// while read would give a wrong oid, so say so.
		if (task.sha1 && h.size !== size) throw Object.assign(new Error(`${task.path} changed size while being read (${size} -> ${h.size} bytes)`), { code: "ESIZECHANGED" });
		post({ type: "done", id: task.id, result: digests(h) });
	} catch (err) {
		post({ type: "error", id: task.id, error: errorInfo(err) });
	} finally {
		if (src >= 0) closeSync(src);
		if (dst >= 0) closeSync(dst);
	}
}

function openStream(msg: StreamOpen): void {
	let fd = -1;
	try {
		const h = newHashers({ blake3: msg.blake3, sha256: msg.sha256, sha1Size: msg.size ?? null });
		if (msg.write) {
			// O_APPEND: chunks land after the resumed bytes whatever the fd offset.
			const flags = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | (msg.resume ? 0 : constants.O_EXCL);
			fd = openSync(msg.path, flags, 0o644);
		}
		if (msg.resume) {
			// The writing half opened (created) it first.
			const rfd = fd >= 0 ? fd : openSync(msg.path, constants.O_RDONLY);
			try {
				buffer ??= Buffer.allocUnsafe(CHUNK);
				let pos = 0;
				for (;;) {
					const n = readSync(rfd, buffer, 0, CHUNK, pos);
					if (n === 0) break;
					feed(h, buffer.subarray(0, n));
					pos += n;
				}
			} finally {
				if (rfd !== fd) closeSync(rfd);
			}
		}
		streams.set(msg.id, { fd, hashers: h, failed: null });
		post({ type: "opened", id: msg.id, resumedBytes: h.size });
	} catch (err) {
		if (fd >= 0) closeSync(fd);
		post({ type: "error", id: msg.id, error: errorInfo(err) });
	}
}

function onMessage(msg: WorkerRequest): void {
	switch (msg.type) {
		case "file":
			runFile(msg);
			return;
		case "open":
			openStream(msg);
			return;
		case "chunk": {
			const s = streams.get(msg.id);
			if (!s || s.failed) {
				post({ type: "ack", id: msg.id, seq: msg.seq, error: s?.failed ?? { message: "stream not open" } });
				return;
			}
			try {
				if (s.fd >= 0) writeAll(s.fd, msg.data);
				feed(s.hashers, msg.data);
			} catch (err) {
				s.failed = errorInfo(err);
			}
			post({ type: "ack", id: msg.id, seq: msg.seq, error: s.failed ?? undefined });
			return;
		}
		case "finish": {
			const s = streams.get(msg.id);
			if (!s) {
				post({ type: "error", id: msg.id, error: { message: "stream not open" } });
				return;
			}
			streams.delete(msg.id);
			try {
				if (s.failed) throw Object.assign(new Error(s.failed.message), s.failed);
				if (s.fd >= 0) fsyncSync(s.fd);
				post({ type: "done", id: msg.id, result: digests(s.hashers) });
			} catch (err) {
				post({ type: "error", id: msg.id, error: errorInfo(err) });
			} finally {
				if (s.fd >= 0) closeSync(s.fd);
			}
			return;
		}
		case "close": {
			const s = streams.get(msg.id);
			streams.delete(msg.id);
			if (s && s.fd >= 0) closeSync(s.fd);
			post({ type: "closed", id: msg.id });
			return;
		}
	}
}

port.on("message", onMessage);
