import { readFileSync, writeFileSync } from "node:fs";
import { readdir, readFile, readlink, statfs } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listModelfsMounts } from "../../src/mount/listModelfsMounts.js";
import { isMountPoint } from "../native/viewFixtures.js";
import { canMount } from "../support/canMount.js";
import { runCli } from "../support/runCli.js";
import { makeCliStore, spawnCli } from "./mountFixtures.js";

async function until(cond: () => boolean, ms = 30_000): Promise<boolean> {
	const end = Date.now() + ms;
	while (Date.now() < end && !cond()) await new Promise((r) => setTimeout(r, 50));
	return cond();
}

describe.runIf(canMount)("mountCommand", () => {
	it("mounts the store's hf view and returns once it answers", async () => {
		const s = await makeCliStore();
		const r = await runCli(["mount", s.mnt], { env: s.env });
		expect(r.stderr).toBe("");
		expect(r.code).toBe(0);
		expect(r.stdout).toMatch(/^mounted .*: 7 files/);
		for (const [repo, files] of s.repos) {
			const dir = join(s.mnt, `models--${repo.replace("/", "--")}`);
			const commit = s.commits.get(repo) as string;
			expect(await readFile(join(dir, "refs/main"), "utf8")).toBe(commit);
			for (const [path, content] of files) {
				expect((await readFile(join(dir, "snapshots", commit, path))).equals(content), `${repo}/${path}`).toBe(true);
				expect(await readlink(join(dir, "snapshots", commit, path))).toMatch(/^(\.\.\/)+blobs\/[0-9a-f]{64}$/);
			}
		}
	});

	it("refuses a mountpoint that holds files unless --nonempty, naming the flag", async () => {
		const s = await makeCliStore();
		writeFileSync(join(s.mnt, "left-over.txt"), "someone's file");
		const r = await runCli(["mount", s.mnt], { env: s.env });
		expect(r.code).toBe(5);
		expect(r.stderr).toContain(`modelfs: mountpoint ${s.mnt} is not empty`);
		expect(r.stderr).toContain("--nonempty");
		expect(isMountPoint(s.mnt)).toBe(false);
		const forced = await runCli(["mount", s.mnt, "--nonempty"], { env: s.env });
		expect(forced.code, forced.stderr).toBe(0);
		expect(isMountPoint(s.mnt)).toBe(true);
	});

	it("takes the layout options: --layout flat --repo --prefix", async () => {
		const s = await makeCliStore();
		const r = await runCli(["mount", s.mnt, "--layout", "flat", "--repo", "org/beta", "--prefix", "models", "--json"], { env: s.env });
		expect(r.code).toBe(0);
		expect(JSON.parse(r.stdout)).toMatchObject({ mountpoint: s.mnt, files: 2, layout: "flat" });
		expect(await readdir(join(s.mnt, "models"))).toEqual(["org"]);
		expect((await readdir(join(s.mnt, "models/org/beta"))).sort()).toEqual(["model.safetensors", "tokenizer.json"]);
		expect((await readFile(join(s.mnt, "models/org/beta/model.safetensors"))).equals(s.repos.get("org/beta")?.get("model.safetensors") as Buffer)).toBe(true);
	});

	it("mounts again over a dead mount left by kill -9 of its processes", async () => {
		const s = await makeCliStore();
		expect((await runCli(["mount", s.mnt], { env: s.env })).code).toBe(0);
		const m = (await listModelfsMounts({ runRoot: s.runRoot })).find((x) => x.mountpoint === s.mnt);
		process.kill(m?.holderPid as number, "SIGKILL");
		process.kill(m?.daemonPid as number, "SIGKILL");
		await expect(
			until(() => {
				try {
					readFileSync(`/proc/${m?.daemonPid}/stat`);
					return false;
				} catch {
					return true;
				}
			}),
		).resolves.toBe(true);
		await expect(statfs(s.mnt)).rejects.toMatchObject({ code: expect.stringMatching(/^(ENOTCONN|ECONNABORTED)$/) });
		const r = await runCli(["mount", s.mnt], { env: s.env });
		expect(r.code).toBe(0);
		expect(r.stderr).toContain(`detached a dead mount at ${s.mnt}`);
		expect((await readFile(join(s.mnt, "models--org--beta/snapshots", "b".repeat(40), "tokenizer.json"))).length).toBe(300_000);
	});

	it("refuses a missing mountpoint, a mounted one and a missing store with one clear line and exit 5/4", async () => {
		const s = await makeCliStore();
		const missing = await runCli(["mount", join(s.root, "nope")], { env: s.env });
		expect(missing.code).toBe(5);
		expect(missing.stderr).toContain(`modelfs: mountpoint ${join(s.root, "nope")} does not exist`);
		expect(missing.stderr).toContain("hint: create it first");
		expect((await runCli(["mount", s.mnt], { env: s.env })).code).toBe(0);
		const busy = await runCli(["mount", s.mnt], { env: s.env });
		expect(busy.code).toBe(5);
		expect(busy.stderr).toMatch(/already has a live modelfs view/);
		const nostore = await runCli(["mount", s.mnt, "--store", join(s.root, "nostore")], { env: s.env });
		expect(nostore.code).toBe(4);
	});

	it("says that root is needed when run as another user", async () => {
		const s = await makeCliStore();
		const child = spawnCli(["mount", s.mnt], { ...s.env, HOME: "/tmp" }, { uid: 65534, gid: 65534 });
		const code = await new Promise<number | null>((r) => child.on("close", (c) => r(c)));
		expect(child.output()).toContain("needs root");
		expect(code).toBe(5);
		expect(isMountPoint(s.mnt)).toBe(false);
	});

	it("serves Prometheus metrics with --metrics-port", async () => {
		const s = await makeCliStore();
		const r = await runCli(["mount", s.mnt, "--metrics-port", "0", "--json"], { env: s.env });
		expect(r.code).toBe(0);
		const port = JSON.parse(r.stdout).metricsPort as number;
		expect(port).toBeGreaterThan(0);
		await readFile(join(s.mnt, "models--org--alpha/snapshots", "a".repeat(40), "config.json"));
		const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
		expect(text).toContain(`modelfs_up{mountpoint="${s.mnt}"} 1`);
		expect(text).toMatch(new RegExp(`modelfs_passthrough_opens_total\\{mountpoint="${s.mnt}"\\} [1-9]`));
		expect(text).toContain("modelfs_request_duration_seconds_bucket");
		expect((await runCli(["umount", s.mnt], { env: s.env })).code).toBe(0);
		await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
	});

	it("stays attached with --foreground until SIGTERM, then unmounts and exits 0", async () => {
		const s = await makeCliStore();
		const child = spawnCli(["mount", s.mnt, "--foreground", "--no-passthrough"], s.env);
		expect(await until(() => child.output().includes("mounted "))).toBe(true);
		expect(isMountPoint(s.mnt)).toBe(true);
		expect(await readFile(join(s.mnt, "models--org--alpha/snapshots", "a".repeat(40), "config.json"), "utf8")).toBe('{"a":1}');
		expect(child.exitCode).toBeNull();
		child.kill("SIGTERM");
		const code = await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.on("close", (c) => r(c))));
		expect(code).toBe(0);
		expect(isMountPoint(s.mnt)).toBe(false);
	});
});
