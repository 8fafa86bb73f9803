import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchSession } from "./BenchSession.js";

export interface SetDeviceReadAheadParams {
	session: BenchSession;
	/** The whole disk, e.g. vda: read_ahead_kb is a queue attribute, shared by its partitions. */
	disk: string;
	kib: number;
	/** @default /sys */
	sysRoot?: string;
}

/**
 * Sets the disk's read_ahead_kb for the run and puts the old value back at
 * cleanup. A page fault reads ahead only this much, so it decides the size
 * of a mapped loader's requests: 128 KiB is the kernel's default for a
 * block device; some virtual disks are set to several MiB, which hides
 * what a volume with few, slow requests does to an mmap loader.
 * Returns the value the disk had.
 */
export function setDeviceReadAhead(params: SetDeviceReadAheadParams): number {
	const file = join(params.sysRoot ?? "/sys", "block", params.disk, "queue", "read_ahead_kb");
	const was = Number(readFileSync(file, "utf8").trim());
	writeFileSync(file, `${params.kib}\n`);
	params.session.defer(`read_ahead_kb of ${params.disk} back to ${was}`, () => writeFileSync(file, `${was}\n`));
	return was;
}
