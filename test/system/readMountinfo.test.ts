import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { readMountinfo } from "../../src/system/readMountinfo.js";

describe("readMountinfo", () => {
	it("splits each line at the separator whatever the optional fields, unescapes the mountpoint and keeps super options as written", async () => {
		const dir = mkdtempSync(join(tmpdir(), "modelfs-mi-"));
		onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
		const info = join(dir, "mountinfo");
		writeFileSync(
			info,
			[
				"22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
				"40 22 0:39 / /srv/a\\040b ro,nosuid shared:5 master:2 - fuse.modelfs modelfs ro,allow_other",
				"51 22 0:50 / /data/hf rw,relatime - overlay overlay rw,lowerdir=/run/a\\054b,upperdir=/up,workdir=/wk",
				"",
			].join("\n"),
		);
		expect(await readMountinfo({ path: info })).toEqual([
			{ mountId: 22, majorMinor: "254:0", mountpoint: "/", options: "rw,relatime", fstype: "ext4", superOptions: "rw" },
			{ mountId: 40, majorMinor: "0:39", mountpoint: "/srv/a b", options: "ro,nosuid", fstype: "fuse.modelfs", superOptions: "ro,allow_other" },
			{ mountId: 51, majorMinor: "0:50", mountpoint: "/data/hf", options: "rw,relatime", fstype: "overlay", superOptions: "rw,lowerdir=/run/a\\054b,upperdir=/up,workdir=/wk" },
		]);
	});

	it("reads this process's own mount table by default", async () => {
		const entries = await readMountinfo();
		expect(entries.some((e) => e.mountpoint === "/")).toBe(true);
	});
});
