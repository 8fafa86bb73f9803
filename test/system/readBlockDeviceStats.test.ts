import { mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readBlockDeviceStats } from "../../src/system/readBlockDeviceStats.js";
import { tempDir } from "../native/viewFixtures.js";

/** major:minor of the device holding `path`, as /sys/dev/block names it. */
function majorMinor(path: string): string {
	const dev = statSync(path, { bigint: true }).dev;
	return `${Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn))}:${Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn))}`;
}

describe("readBlockDeviceStats", () => {
	it("reads the partition's counters and the NVMe-oF controllers of its disk from a sysfs tree", async () => {
		const dir = tempDir("modelfs-sys-");
		if (statSync(dir).dev === 0) return;
		const sys = join(dir, "sys");
		const part = join(sys, "devices/virtual/nvme-subsystem/nvme-subsys0/nvme0n1/nvme0n1p1");
		mkdirSync(part, { recursive: true });
		writeFileSync(join(part, "partition"), "1\n");
		writeFileSync(join(part, "stat"), "    100 2 8000 50 7 1 64 9 3 120 170 0 0 0 0 0 0\n");
		mkdirSync(join(sys, "dev/block"), { recursive: true });
		symlinkSync(part, join(sys, "dev/block", majorMinor(dir)));
		for (const [name, state, addr] of [
			["nvme1", "live", "traddr=10.0.0.1,trsvcid=4420"],
			["nvme2", "connecting", "traddr=10.0.0.2,trsvcid=4420"],
		]) {
			mkdirSync(join(sys, "class/nvme", name), { recursive: true });
			writeFileSync(join(sys, "class/nvme", name, "state"), `${state}\n`);
			writeFileSync(join(sys, "class/nvme", name, "transport"), "tcp\n");
			writeFileSync(join(sys, "class/nvme", name, "address"), `${addr}\n`);
			mkdirSync(join(sys, "class/nvme-subsystem/nvme-subsys0", name), { recursive: true });
		}
		const s = await readBlockDeviceStats({ path: dir, sysRoot: sys });
		expect(s).toMatchObject({
			device: "nvme0n1p1",
			disk: "nvme0n1",
			readsCompleted: 100,
			readBytes: 8000 * 512,
			readTimeMs: 50,
			writesCompleted: 7,
			writtenBytes: 64 * 512,
			ioInProgress: 3,
			ioTimeMs: 120,
		});
		expect(s?.nvmeControllers).toEqual([
			{ name: "nvme1", state: "live", transport: "tcp", address: "traddr=10.0.0.1,trsvcid=4420", model: null },
			{ name: "nvme2", state: "connecting", transport: "tcp", address: "traddr=10.0.0.2,trsvcid=4420", model: null },
		]);
	});

	it("returns null when the filesystem has no block device in sysfs", async () => {
		const dir = tempDir("modelfs-sys-");
		expect(await readBlockDeviceStats({ path: dir, sysRoot: join(dir, "empty-sys") })).toBeNull();
		expect(await readBlockDeviceStats({ path: "/proc/self" })).toBeNull();
	});
});
