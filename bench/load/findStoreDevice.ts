import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readBlockDeviceStats } from "../../src/system/readBlockDeviceStats.js";

export interface FindStoreDeviceParams {
	/** A path in the store (its objects folder). */
	path: string;
	/** @default /sys */
	sysRoot?: string;
}

/** The block device a store lives on, as the bench reads and throttles it. */
export interface StoreDevice {
	/** The device of the store's filesystem (a partition or a whole disk), e.g. vda. */
	name: string;
	majorMinor: string;
	/** Its I/O counters, read by loadgen around each timed run. */
	statPath: string;
	/** The whole disk under it, e.g. vda for vda1: blkio throttling takes whole disks only. */
	disk: string;
	diskMajorMinor: string;
}

/**
 * Resolves the store's device from the st_dev of `path` (through
 * /sys/dev/block/<major>:<minor>). Null when the filesystem has no block
 * device (tmpfs, NFS, overlayfs): the bench then has no device figures.
 */
export async function findStoreDevice(params: FindStoreDeviceParams): Promise<StoreDevice | null> {
	const sys = params.sysRoot ?? "/sys";
	const stats = await readBlockDeviceStats({ path: params.path, sysRoot: sys });
	if (stats === null) return null;
	const diskMajorMinor = stats.disk === stats.device ? stats.majorMinor : readFileSync(join(sys, "block", stats.disk, "dev"), "utf8").trim();
	return {
		name: stats.device,
		majorMinor: stats.majorMinor,
		statPath: join(sys, "dev", "block", stats.majorMinor, "stat"),
		disk: stats.disk,
		diskMajorMinor,
	};
}
