import { constants } from "node:os";
import { join } from "node:path";
import { ModelfsError } from "../errors.js";
import { readFileIfExists } from "../system/readFileIfExists.js";
import type { MountStats } from "./MountTypes.js";
import { runtimeDirFor } from "./runtimeDirFor.js";

export interface ReadMountStatsParams {
	/** The view's mountpoint (its runtime folder is derived from it)... */
	mountpoint?: string;
	/** ...or the runtime folder itself. */
	runtimeDir?: string;
	/** @default $MODELFS_RUN_DIR, else /run/modelfs */
	runRoot?: string;
}

/** Layout of the stats file: native/STATS.md. */
const MAGIC = "MFSSTAT1";
const SIZE = 4096;
const COUNTERS_OFF = 128;
const REQUESTS_OFF = 256;
const ERRORS_OFF = 768;
const LATENCY_OFF = 2816;
const HOLDER_VERSION_OFF = 2944;
const DAEMON_VERSION_OFF = 3008;
const BUCKET_US = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000];

/** FUSE opcode numbers (linux/fuse.h) to names. */
const OPCODES: Record<number, string> = {
	1: "LOOKUP",
	2: "FORGET",
	3: "GETATTR",
	4: "SETATTR",
	5: "READLINK",
	6: "SYMLINK",
	8: "MKNOD",
	9: "MKDIR",
	10: "UNLINK",
	11: "RMDIR",
	12: "RENAME",
	13: "LINK",
	14: "OPEN",
	15: "READ",
	16: "WRITE",
	17: "STATFS",
	18: "RELEASE",
	20: "FSYNC",
	21: "SETXATTR",
	22: "GETXATTR",
	23: "LISTXATTR",
	24: "REMOVEXATTR",
	25: "FLUSH",
	26: "INIT",
	27: "OPENDIR",
	28: "READDIR",
	29: "RELEASEDIR",
	30: "FSYNCDIR",
	31: "GETLK",
	32: "SETLK",
	33: "SETLKW",
	34: "ACCESS",
	35: "CREATE",
	36: "INTERRUPT",
	37: "BMAP",
	38: "DESTROY",
	39: "IOCTL",
	40: "POLL",
	41: "NOTIFY_REPLY",
	42: "BATCH_FORGET",
	43: "FALLOCATE",
	44: "READDIRPLUS",
	45: "RENAME2",
	46: "LSEEK",
	47: "COPY_FILE_RANGE",
	48: "SETUPMAPPING",
	49: "REMOVEMAPPING",
	50: "SYNCFS",
	51: "TMPFILE",
	52: "STATX",
};

/** errno number -> name, built once (stats are read on every scrape). */
const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/**
 * The counters of a mounted view's daemon, read from the stats file in its
 * runtime folder, or null when there is none (not mounted by modelfs).
 */
export async function readMountStats(params: ReadMountStatsParams): Promise<MountStats | null> {
	const runtimeDir = params.runtimeDir ?? (params.mountpoint ? runtimeDirFor({ mountpoint: params.mountpoint, runRoot: params.runRoot }) : null);
	if (!runtimeDir) throw new TypeError("readMountStats: give `mountpoint` or `runtimeDir`");
	const path = join(runtimeDir, "stats");
	const buf = await readFileIfExists({ path });
	if (buf === null) return null;
	if (buf.length < SIZE || buf.toString("latin1", 0, 8) !== MAGIC || buf.readUInt32LE(8) !== 1) {
		throw new ModelfsError("STATS_FORMAT", `${path} is not a version 1 modelfs stats file`, {
			hint: "the daemon and the CLI come from different modelfs versions: remount the view",
		});
	}
	const u64 = (off: number) => Number(buf.readBigUInt64LE(off));
	const counter = (i: number) => u64(COUNTERS_OFF + 8 * i);
	const requests: Record<string, number> = {};
	for (let op = 0; op < 64; op++) {
		const n = u64(REQUESTS_OFF + 8 * op);
		if (n > 0) requests[op === 0 ? "OTHER" : (OPCODES[op] ?? `OP${op}`)] = n;
	}
	const errors: Record<string, number> = {};
	for (let e = 0; e < 256; e++) {
		const n = u64(ERRORS_OFF + 8 * e);
		if (n > 0) errors[e === 0 ? "OTHER" : (ERRNO_NAMES.get(e) ?? `errno${e}`)] = n;
	}
	const counts = Array.from({ length: 16 }, (_, i) => u64(LATENCY_OFF + 8 * i));
	const time = (off: number) => {
		const ns = buf.readBigUInt64LE(off);
		return ns === 0n ? null : new Date(Number(ns / 1_000_000n)).toISOString();
	};
	const text = (off: number) => {
		const b = buf.subarray(off, off + 64);
		const end = b.indexOf(0);
		return b.toString("utf8", 0, end < 0 ? 64 : end);
	};
	return {
		startedAt: new Date(Number(buf.readBigUInt64LE(16) / 1_000_000n)).toISOString(),
		holderPid: buf.readUInt32LE(24),
		daemonPid: buf.readUInt32LE(28),
		passthrough: buf.readUInt32LE(32) === 1,
		daemonStarts: buf.readUInt32LE(36),
		holderStarts: buf.readUInt32LE(56),
		holderVersion: text(HOLDER_VERSION_OFF),
		daemonVersion: text(DAEMON_VERSION_OFF),
		holderStartedAt: time(80),
		daemonStartedAt: time(88),
		majorMinor: `${buf.readUInt32LE(48)}:${buf.readUInt32LE(52)}`,
		generation: Number(buf.readBigUInt64LE(64)),
		imageId: buf.readBigUInt64LE(72).toString(16).padStart(16, "0"),
		refreshes: buf.readUInt32LE(60),
		lastRefreshAt: time(96),
		lastRefreshSeconds: buf.readUInt32LE(104) / 1e6,
		parked: (buf.readUInt32LE(108) & 1) === 1,
		protocolMinor: buf.readUInt32LE(40),
		threads: buf.readUInt32LE(44),
		opens: counter(0),
		passthroughOpens: counter(1),
		fallbackOpens: counter(2),
		fallbackReads: counter(3),
		fallbackBytes: counter(4),
		blobErrors: counter(5),
		backingOpenFailures: counter(6),
		backingIdsOpen: counter(7),
		negativeLookups: counter(8),
		interrupts: counter(9),
		resentDuplicates: counter(10),
		prefetches: counter(13),
		prefetchBytes: counter(14),
		prefetchResidentBytes: counter(15),
		requests,
		errors,
		latency: {
			bucketsSeconds: [...BUCKET_US.map((us) => us / 1e6), Infinity],
			counts,
			sumSeconds: counter(11) / 1e9,
			count: counter(12),
		},
	};
}
