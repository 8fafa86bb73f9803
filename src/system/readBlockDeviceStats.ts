import { access, readdir, readFile, realpath, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** Counters of the block device the store is on (/sys/block/<dev>/stat). */
export interface BlockDeviceStats {
	/** e.g. `nvme0n1p1`, `vda`. */
	device: string;
	/** The whole disk when `device` is a partition, else the same. */
	disk: string;
	majorMinor: string;
	readsCompleted: number;
	readsMerged: number;
	readBytes: number;
	readTimeMs: number;
	writesCompleted: number;
	writesMerged: number;
	writtenBytes: number;
	writeTimeMs: number;
	ioInProgress: number;
	ioTimeMs: number;
	weightedIoTimeMs: number;
	/** NVMe / NVMe-oF controllers behind the disk (empty otherwise). */
	nvmeControllers: NvmeController[];
}

export interface NvmeController {
	/** e.g. `nvme0`. */
	name: string;
	/** `live`, `connecting`, `resetting`, `deleting`, `dead`... */
	state: string | null;
	/** `pcie`, `tcp`, `rdma`, `fc`, `loop`. */
	transport: string | null;
	address: string | null;
	model: string | null;
}

export interface ReadBlockDeviceStatsParams {
	/** A path on the filesystem whose device to read (the store's objects folder). */
	path: string;
	/** @default /sys */
	sysRoot?: string;
}

/**
 * The I/O counters of the block device holding `path` (/sys/block/<dev>/stat)
 * and, for NVMe and NVMe-oF, the state of its controllers. With FUSE
 * passthrough the kernel reads blobs without asking the daemon, so these are
 * where read bytes, latency and storage errors show. Null when the
 * filesystem has no block device (NFS, tmpfs, overlayfs...).
 */
export async function readBlockDeviceStats(params: ReadBlockDeviceStatsParams): Promise<BlockDeviceStats | null> {
	if (typeof params?.path !== "string") throw new TypeError("readBlockDeviceStats: `path` is required");
	const sys = params.sysRoot ?? "/sys";
	const dev = (await stat(params.path, { bigint: true })).dev;
	const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
	const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
	if (major === 0) return null;
	const majorMinor = `${major}:${minor}`;
	let devDir: string;
	try {
		devDir = await realpath(join(sys, "dev", "block", majorMinor));
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
		throw err;
	}
	const text = await readOptional(join(devDir, "stat"));
	if (text === null) return null;
	const f = text.trim().split(/\s+/).map(Number);
	const isPartition = (await readOptional(join(devDir, "partition"))) !== null;
	const disk = isPartition ? basename(dirname(devDir)) : basename(devDir);
	return {
		device: basename(devDir),
		disk,
		majorMinor,
		readsCompleted: f[0] ?? 0,
		readsMerged: f[1] ?? 0,
		readBytes: (f[2] ?? 0) * 512,
		readTimeMs: f[3] ?? 0,
		writesCompleted: f[4] ?? 0,
		writesMerged: f[5] ?? 0,
		writtenBytes: (f[6] ?? 0) * 512,
		writeTimeMs: f[7] ?? 0,
		ioInProgress: f[8] ?? 0,
		ioTimeMs: f[9] ?? 0,
		weightedIoTimeMs: f[10] ?? 0,
		nvmeControllers: await nvmeControllers(sys, disk),
	};
}

async function readOptional(path: string): Promise<string | null> {
	try {
		return await readFile(path, "utf8");
	} catch (err) {
		const code = (err as NodeJS.ErrnoException).code;
		if (code === "ENOENT" || code === "ENOTDIR" || code === "EINVAL") return null;
		throw err;
	}
}

/**
 * `nvme<C>n<N>` is namespace N on controller C, or (native multipath) the
 * head of subsystem C with one controller per path: read them all.
 */
async function nvmeControllers(sys: string, disk: string): Promise<NvmeController[]> {
	const m = /^nvme(\d+)n\d+$/.exec(disk);
	if (!m) return [];
	const names = new Set<string>();
	const subsys = join(sys, "class", "nvme-subsystem", `nvme-subsys${m[1]}`);
	try {
		for (const name of await readdir(subsys)) if (/^nvme\d+$/.test(name)) names.add(name);
	} catch {
		// no multipath head: the controller has the disk's number
	}
	if (names.size === 0) names.add(`nvme${m[1]}`);
	const out: NvmeController[] = [];
	for (const name of [...names].sort()) {
		const dir = join(sys, "class", "nvme", name);
		try {
			await access(dir);
		} catch {
			continue;
		}
		const read = async (f: string) => (await readOptional(join(dir, f)))?.trim() ?? null;
		out.push({ name, state: await read("state"), transport: await read("transport"), address: await read("address"), model: await read("model") });
	}
	return out;
}
