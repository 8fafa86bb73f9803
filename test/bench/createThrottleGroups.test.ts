import { spawn } from "node:child_process";
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { BenchSession } from "../../bench/load/BenchSession.js";
import { buildLoadgen } from "../../bench/load/buildLoadgen.js";
import { createThrottleGroups } from "../../bench/load/createThrottleGroups.js";
import { findStoreDevice } from "../../bench/load/findStoreDevice.js";
import { runLoadgen } from "../../bench/load/runLoadgen.js";
import { Unavailable } from "../../bench/load/Unavailable.js";

const BLKIO = "/sys/fs/cgroup/blkio";
const canThrottle = typeof process.getuid === "function" && process.getuid() === 0 && existsSync(join(BLKIO, "blkio.throttle.read_iops_device"));

describe("createThrottleGroups", () => {
	it("writes the limit on the throttled group only, reads its counters, and removes both groups at cleanup", () => {
		// A stand-in hierarchy: the cgroup files are plain files here, so this runs anywhere.
		const root = mkdtempSync(join(tmpdir(), "modelfs-blkio-"));
		onTestFinished(() => rmSync(root, { recursive: true, force: true }));
		writeFileSync(join(root, "blkio.throttle.read_iops_device"), "");
		const session = new BenchSession();
		const groups = createThrottleGroups({ session, diskMajorMinor: "254:0", readIops: 200, root, name: "g" });
		expect(groups.dir).toEqual({ plain: join(root, "g-plain"), throttled: join(root, "g-throttled") });
		expect(readFileSync(join(groups.dir.throttled, "blkio.throttle.read_iops_device"), "utf8")).toBe("254:0 200\n");
		expect(existsSync(join(groups.dir.plain, "blkio.throttle.read_iops_device"))).toBe(false);
		writeFileSync(join(groups.dir.throttled, "blkio.throttle.io_serviced"), "254:0 Read 12\n254:0 Write 3\n");
		writeFileSync(join(groups.dir.throttled, "blkio.throttle.io_service_bytes"), "254:0 Read 4096\n");
		expect(groups.counters("throttled")).toEqual({ ios: 12, bytes: 4096 });
		// A real cgroup's files go with rmdir; plain files do not, so take them away first.
		for (const d of Object.values(groups.dir)) {
			for (const f of ["blkio.throttle.read_iops_device", "blkio.throttle.io_serviced", "blkio.throttle.io_service_bytes"]) rmSync(join(d, f), { force: true });
			writeFileSync(join(d, "cgroup.procs"), "");
		}
		const pending = readFileSync(join(groups.dir.plain, "cgroup.procs"), "utf8");
		expect(pending).toBe("");
		for (const d of Object.values(groups.dir)) rmSync(join(d, "cgroup.procs"));
		session.close();
		expect(existsSync(groups.dir.plain) || existsSync(groups.dir.throttled)).toBe(false);
	});

	it("says the hierarchy is missing instead of failing later", () => {
		const session = new BenchSession();
		expect(() => createThrottleGroups({ session, diskMajorMinor: "254:0", readIops: 10, root: join(tmpdir(), "no-such-blkio") })).toThrow(Unavailable);
		expect(() => createThrottleGroups({ session, diskMajorMinor: "vda", readIops: 10, root: BLKIO })).toThrow(canThrottle ? TypeError : Unavailable);
	});

	describe.runIf(canThrottle)("on this kernel's blkio hierarchy", () => {
		it("charges a loader's cold reads to the throttled group and puts every process back at cleanup", async () => {
			const dir = mkdtempSync(join(tmpdir(), "modelfs-throttle-"));
			onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
			const file = join(dir, "data");
			writeFileSync(file, Buffer.alloc(32 << 20, 7));
			const fd = openSync(file, "r+");
			fsyncSync(fd);
			closeSync(fd);
			const device = await findStoreDevice({ path: dir });
			if (!device) return; // tmpdir on tmpfs: nothing to throttle
			const session = new BenchSession();
			onTestFinished(() => session.close());
			const binary = await buildLoadgen({ session });
			const groups = createThrottleGroups({ session, diskMajorMinor: device.diskMajorMinor, readIops: 1000, name: `modelfs-test-${process.pid}` });
			const sleeper = spawn("sleep", ["60"], { stdio: "ignore" });
			onTestFinished(() => {
				sleeper.kill();
			});
			const origin = readFileSync(`/proc/${sleeper.pid}/cgroup`, "utf8");
			groups.place([sleeper.pid!], "throttled");
			expect(readFileSync(join(groups.dir.throttled, "cgroup.procs"), "utf8")).toContain(String(sleeper.pid));
			// Our own file only: posix_fadvise, not the machine's drop_caches.
			await runLoadgen({ session, binary, args: ["evict", file] });
			const before = groups.counters("throttled");
			const r = await runLoadgen({ session, binary, args: ["seq", String(16 << 20), "0", file], env: { LOADGEN_CGROUP: groups.dir.throttled, LOADGEN_DEVSTAT: device.statPath } });
			const after = groups.counters("throttled");
			expect(r.bytes).toBe(32 << 20);
			expect(after.bytes - before.bytes).toBeGreaterThanOrEqual(32 << 20);
			expect(after.ios - before.ios).toBeGreaterThan(0);
			session.close();
			expect(existsSync(groups.dir.throttled) || existsSync(groups.dir.plain)).toBe(false);
			expect(readFileSync(`/proc/${sleeper.pid}/cgroup`, "utf8")).toBe(origin);
		});
	});
});
