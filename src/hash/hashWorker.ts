/**
 * Worker-thread side of HashPool: reads files and stream chunks, feeds
 * BLAKE3, sha256 and git sha1 in one pass, and writes the bytes to their tmp
 * file, so the main thread never touches file data.
 */

import { createHash, type Hash } from "node:crypto";
import { closeSync, constants, copyFileSync, fdatasync, fstatSync, fsyncSync, openSync, readSync, unlinkSync, write, writeSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { allocateSharedChunks, DIRECT_ALIGN } from "./allocateSharedChunks.js";
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
	/** The same file opened with O_DIRECT, or -1 (not asked for, refused, or given up after EINVAL). */
	directFd: number;
	/** File size so far: where the next chunk goes. */
	pos: number;
	hashers: Hashers;
	failed: WorkerErrorInfo | null;
	/** Bytes appended since the last background flush started. */
	unflushed: number;
	/** A background fdatasync in flight: finish and close wait for it (the fd must stay open). */
	flushing: Promise<void> | null;
	/** The last chunk's write, when not done yet: chunks are written one after another, in order. */
	writing: Promise<void> | null;
}

/**
 * A stream starts writing its bytes back to disk every this many bytes, in
 * the background (fdatasync on the thread pool), while it keeps receiving.
 * Without it nothing reaches the disk until the final fsync (the kernel
 * holds GBs of dirty pages on a large node), so the disk idles through the
 * download and then the run waits for all of it at the end: measured on
 * this VM, 0.62 GB/s for 2 GiB ingested onto disk vs 0.89 onto tmpfs.
 */
const FLUSH_EVERY = 64 << 20;

function startFlush(s: Stream): void {
	s.unflushed = 0;
	s.flushing = new Promise((resolve) => {
		fdatasync(s.fd, (err) => {
			if (err) s.failed ??= errorInfo(err);
			s.flushing = null;
			resolve();
		});
	});
}

function closeStream(s: Stream): void {
	if (s.directFd >= 0) closeSync(s.directFd);
	if (s.fd >= 0) closeSync(s.fd);
	s.directFd = s.fd = -1;
}

/** Runs `fn` once the stream's writes and background flush (if any) are done. */
function afterWrites(s: Stream, fn: () => void): void {
	if (!s.writing && !s.flushing) {
		fn();
		return;
	}
	void (async () => {
		while (s.writing || s.flushing) {
			await s.writing;
			await s.flushing;
		}
	})().then(fn);
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

function writeAllAt(fd: number, data: Uint8Array, position: number): void {
	let off = 0;
	while (off < data.byteLength) off += writeSync(fd, data, off, Math.min(WRITE_PIECE, data.byteLength - off), position + off);
}

/** writeAllAt on the thread pool. */
async function writeAllAtAsync(fd: number, data: Uint8Array, position: number): Promise<void> {
	let off = 0;
	while (off < data.byteLength) {
		off += await new Promise<number>((resolve, reject) => write(fd, data, off, data.byteLength - off, position + off, (err, n) => (err ? reject(err) : resolve(n))));
	}
}

/** Aligned memory for direct writes of chunks that are not aligned themselves. */
let staging: Uint8Array | null = null;
const STAGING = 4 << 20;

/**
 * Appends a chunk. With O_DIRECT the aligned middle goes straight from the
 * chunk's memory to the disk: no copy into the page cache and no writeback
 * later, which on this VM's ext4 is the difference between 0.4-0.9 GB/s
 * (buffered, then fsync) and 2.2 GB/s (direct), at a tenth of the CPU. It
 * runs on the thread pool, so the worker hashes the next chunk meanwhile.
 * The unaligned head and tail of a chunk (a resumed file, the end of a
 * file) go through the page cache; both kinds of write may share a file.
 */
async function appendChunk(s: Stream, data: Uint8Array): Promise<void> {
	let off = 0;
	const len = data.byteLength;
	if (s.directFd >= 0) {
		const mis = s.pos % DIRECT_ALIGN;
		if (mis !== 0) {
			off = Math.min(len, DIRECT_ALIGN - mis);
			writeAllAt(s.fd, data.subarray(0, off), s.pos);
			s.pos += off;
			s.unflushed += off;
		}
		const mid = len - off - ((len - off) % DIRECT_ALIGN);
		if (mid > 0 && (await writeDirect(s, data.subarray(off, off + mid)))) off += mid;
	}
	if (off < len) {
		writeAllAt(s.fd, data.subarray(off), s.pos);
		s.pos += len - off;
		s.unflushed += len - off;
	}
}

/** Writes aligned bytes at s.pos with O_DIRECT; false (and direct writes off for the stream) when the file system refuses. */
async function writeDirect(s: Stream, bytes: Uint8Array): Promise<boolean> {
	try {
		// The chunk's own memory first (pooled chunks are page-aligned); EINVAL means it is not.
		await writeAllAtAsync(s.directFd, bytes, s.pos);
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code !== "EINVAL") throw err;
		try {
			// Synchronous: the one staging buffer of this worker is never shared by two writes.
			staging ??= allocateSharedChunks({ count: 1, size: STAGING })[0];
			for (let off = 0; off < bytes.byteLength; off += STAGING) {
				const piece = bytes.subarray(off, Math.min(bytes.byteLength, off + STAGING));
				staging.set(piece);
				writeAllAt(s.directFd, staging.subarray(0, piece.byteLength), s.pos + off);
			}
		} catch (err2) {
			if ((err2 as NodeJS.ErrnoException).code !== "EINVAL") throw err2;
			// The file system takes no direct writes after all: the page cache it is.
			closeSync(s.directFd);
			s.directFd = -1;
			return false;
		}
	}
	s.pos += bytes.byteLength;
	return true;
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
			const at = h.size;
			feed(h, view);
			if (dst >= 0) writeAllAt(dst, view, at);
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
	let directFd = -1;
	try {
		const h = newHashers({ blake3: msg.blake3, sha256: msg.sha256, sha1Size: msg.size ?? null });
		if (msg.write) {
			const flags = constants.O_RDWR | constants.O_CREAT | (msg.resume ? 0 : constants.O_EXCL);
			fd = openSync(msg.path, flags, 0o644);
			if (msg.direct) {
				try {
					directFd = openSync(msg.path, constants.O_WRONLY | constants.O_DIRECT);
				} catch {
					// No O_DIRECT here: buffered writes with background flushes.
				}
			}
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
		// A resumed partial was read whole above: h.size is where chunks continue.
		streams.set(msg.id, { fd, directFd, pos: h.size, hashers: h, failed: null, unflushed: 0, flushing: null, writing: null });
		post({ type: "opened", id: msg.id, resumedBytes: h.size });
	} catch (err) {
		if (fd >= 0) closeSync(fd);
		if (directFd >= 0) closeSync(directFd);
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
			const data = msg.data;
			try {
				feed(s.hashers, data);
			} catch (err) {
				s.failed = errorInfo(err);
			}
			if (s.fd < 0) {
				post({ type: "ack", id: msg.id, seq: msg.seq, error: s.failed ?? undefined });
				return;
			}
			// The ack (after which the sender reuses the memory) waits for the write.
			const written: Promise<void> = (s.writing ?? Promise.resolve())
				.then(async () => {
					if (s.failed) return;
					await appendChunk(s, data);
					if (s.unflushed >= FLUSH_EVERY && !s.flushing) startFlush(s);
				})
				.catch((err: unknown) => {
					s.failed ??= errorInfo(err);
				})
				.then(() => {
					if (s.writing === written) s.writing = null;
					post({ type: "ack", id: msg.id, seq: msg.seq, error: s.failed ?? undefined });
				});
			s.writing = written;
			return;
		}
		case "finish": {
			const s = streams.get(msg.id);
			if (!s) {
				post({ type: "error", id: msg.id, error: { message: "stream not open" } });
				return;
			}
			streams.delete(msg.id);
			afterWrites(s, () => {
				try {
					if (s.failed) throw Object.assign(new Error(s.failed.message), s.failed);
					if (s.fd >= 0) fsyncSync(s.fd);
					post({ type: "done", id: msg.id, result: digests(s.hashers) });
				} catch (err) {
					post({ type: "error", id: msg.id, error: errorInfo(err) });
				} finally {
					closeStream(s);
				}
			});
			return;
		}
		case "close": {
			const s = streams.get(msg.id);
			streams.delete(msg.id);
			if (!s) {
				post({ type: "closed", id: msg.id });
				return;
			}
			afterWrites(s, () => {
				closeStream(s);
				post({ type: "closed", id: msg.id });
			});
			return;
		}
	}
}

port.on("message", onMessage);
