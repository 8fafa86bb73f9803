import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { listModelfsMounts } from "../../src/mount/listModelfsMounts.js";
import { runtimeDirFor } from "../../src/mount/runtimeDirFor.js";

describe("listModelfsMounts", () => {
	it("lists only fuse.modelfs mounts, unescapes paths, and tells live from dead by the recorded pids", async () => {
		const dir = mkdtempSync(join(tmpdir(), "modelfs-mi-"));
		onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
		// A process that reads as modelfs-fused in /proc/<pid>/cmdline (a reused pid of another program does not count).
		const fake = spawn("sleep", ["60"], { argv0: "modelfs-fused" });
		onTestFinished(() => {
			fake.kill("SIGKILL");
		});
		const runRoot = join(dir, "run");
		const info = join(dir, "mountinfo");
		writeFileSync(
			info,
			[
				"22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
				"40 22 0:39 / /srv/a\\040b ro,nosuid,nodev,relatime shared:5 - fuse.modelfs modelfs ro,user_id=0,group_id=0,default_permissions,allow_other",
				"41 22 0:40 / /srv/dead ro,nosuid,nodev - fuse.modelfs modelfs ro",
				"42 22 0:41 / /srv/other ro - fuse.sshfs host:/ ro",
				"43 22 0:42 / /srv/foreign ro - fuse.modelfs modelfs ro",
				"",
			].join("\n"),
		);
		const live = runtimeDirFor({ mountpoint: "/srv/a b", runRoot });
		mkdirSync(live, { recursive: true });
		writeFileSync(join(live, "holder.pid"), `${fake.pid}\n`);
		writeFileSync(join(live, "daemon.pid"), `${fake.pid}\n`);
		const dead = runtimeDirFor({ mountpoint: "/srv/dead", runRoot });
		mkdirSync(dead, { recursive: true });
		// pid 2^22+1 is above the kernel's pid_max default: never alive.
		writeFileSync(join(dead, "holder.pid"), "4194305\n");
		writeFileSync(join(dead, "daemon.pid"), "4194306\n");

		const mounts = await listModelfsMounts({ mountinfoPath: info, runRoot });
		expect(mounts.map((m) => [m.mountpoint, m.state, m.mountId])).toEqual([
			["/srv/a b", "live", 40],
			["/srv/dead", "dead", 41],
			["/srv/foreign", "unknown", 43],
		]);
		expect(mounts[0].holderPid).toBe(fake.pid);
		expect(mounts[0].options).toBe("ro,nosuid,nodev,relatime");
		expect(mounts[0].runtimeDir).toBe(live);
		expect(mounts[1].daemonPid).toBe(4194306);
	});

	it("finds each mount's own instance folder by its device, even after another instance took the mountpoint's index", async () => {
		const dir = mkdtempSync(join(tmpdir(), "modelfs-mi-"));
		onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
		const runRoot = join(dir, "run");
		const info = join(dir, "mountinfo");
		// Two mounts stacked at one path: an old (detached below) and the new one.
		writeFileSync(
			info,
			["22 1 254:0 / / rw - ext4 /dev/vda rw", "50 22 0:60 / /srv/v ro - fuse.modelfs modelfs ro", "51 50 0:61 / /srv/v ro - fuse.modelfs modelfs ro", ""].join("\n"),
		);
		const stats = (maj: number, min: number, startMs: number) => {
			const b = Buffer.alloc(4096);
			b.write("MFSSTAT1", 0, "latin1");
			b.writeUInt32LE(1, 8);
			b.writeUInt32LE(4096, 12);
			b.writeBigUInt64LE(BigInt(startMs) * 1_000_000n, 16);
			b.writeUInt32LE(maj, 48);
			b.writeUInt32LE(min, 52);
			return b;
		};
		for (const [id, min, t] of [
			["old", 60, 1000],
			["new", 61, 2000],
		] as const) {
			mkdirSync(join(runRoot, "instances", id), { recursive: true });
			writeFileSync(join(runRoot, "instances", id, "stats"), stats(0, min, t));
			writeFileSync(join(runRoot, "instances", id, "holder.pid"), "4194305\n");
		}
		symlinkSync("instances/new", runtimeDirFor({ mountpoint: "/srv/v", runRoot }));
		const mounts = await listModelfsMounts({ mountinfoPath: info, runRoot });
		expect(mounts.map((m) => [m.majorMinor, m.runtimeDir])).toEqual([
			["0:60", join(runRoot, "instances", "old")],
			["0:61", join(runRoot, "instances", "new")],
		]);
	});
});
