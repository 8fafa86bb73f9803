import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { listModelfsMounts } from "../../src/mount/listModelfsMounts.js";
import { runtimeDirFor } from "../../src/mount/runtimeDirFor.js";

describe("listModelfsMounts", () => {
	it("lists only fuse.modelfs mounts, unescapes paths, and tells live from dead by the recorded pids", async () => {
		const dir = mkdtempSync(join(tmpdir(), "modelfs-mi-"));
		onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
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
		writeFileSync(join(live, "holder.pid"), `${process.pid}\n`);
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
		expect(mounts[0].holderPid).toBe(process.pid);
		expect(mounts[0].options).toBe("ro,nosuid,nodev,relatime");
		expect(mounts[0].runtimeDir).toBe(live);
		expect(mounts[1].daemonPid).toBe(4194306);
	});
});
