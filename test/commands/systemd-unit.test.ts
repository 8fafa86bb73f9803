import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { runCli } from "../support/runCli.js";

/** [section] -> key -> values */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
	const out: Record<string, Record<string, string[]>> = {};
	let section = "";
	for (const line of text.split("\n")) {
		if (line.startsWith("#") || line.trim() === "") continue;
		const m = /^\[(.+)\]$/.exec(line);
		if (m) {
			section = m[1];
			out[section] = {};
			continue;
		}
		const eq = line.indexOf("=");
		const key = line.slice(0, eq);
		(out[section][key] ??= []).push(line.slice(eq + 1));
	}
	return out;
}

describe("modelfs systemd-unit", () => {
	it("prints a oneshot unit that runs up after the shared volume, leaves views serving at stop, and parks fds in its fd store", async () => {
		const dir = mkdtempSync(join(tmpdir(), "modelfs-unit-"));
		onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
		const config = join(dir, "config.yaml");
		writeFileSync(
			config,
			`store: /mnt/nvmeof/modelfs\nstateDir: /var/lib/modelfs\nviews: [{name: hf, mountpoint: /run/modelfs/hf}]\nbackends: [{name: vllm, target: /home/op/spark-vllm-docker/cache, prefix: huggingface/hub}]\n`,
		);
		const r = await runCli(["systemd-unit", "--config", config, "--exec", "/usr/local/bin/modelfs", "--after", "nvmf-autoconnect.service", "--before", "docker.service"]);
		expect(r.code, r.stderr).toBe(0);
		const unit = parseUnit(r.stdout);
		expect(unit.Service.Type).toEqual(["oneshot"]);
		expect(unit.Service.RemainAfterExit).toEqual(["yes"]);
		expect(unit.Service.ExecStart).toEqual([`/usr/local/bin/modelfs up --config ${config}`]);
		expect(unit.Service.ExecStop).toBeUndefined();
		expect(unit.Service.KillMode).toEqual(["process"]);
		expect(unit.Service.NotifyAccess).toEqual(["all"]);
		expect(Number(unit.Service.FileDescriptorStoreMax[0])).toBeGreaterThanOrEqual(64);
		expect(unit.Service.FileDescriptorStorePreserve).toEqual(["yes"]);
		const down = parseUnit((await runCli(["systemd-unit", "--config", config, "--exec", "/usr/local/bin/modelfs", "--down-on-stop"])).stdout);
		expect(down.Service.ExecStop).toEqual([`/usr/local/bin/modelfs down --config ${config}`]);
		expect(unit.Unit.After[0].split(" ")).toEqual(expect.arrayContaining(["remote-fs.target", "nvmf-autoconnect.service"]));
		expect(unit.Unit.Before).toEqual(["docker.service"]);
		expect(unit.Unit.RequiresMountsFor).toEqual(expect.arrayContaining(["/mnt/nvmeof/modelfs", "/run/modelfs", "/home/op/spark-vllm-docker"]));
		expect(unit.Install.WantedBy).toEqual(["multi-user.target"]);
	});

	it("still prints a unit when the config does not exist yet, and says so on stderr", async () => {
		const r = await runCli(["systemd-unit", "--config", "/nonexistent/modelfs.yaml"]);
		expect(r.code).toBe(0);
		expect(parseUnit(r.stdout).Service.ExecStart[0]).toMatch(/ up --config \/nonexistent\/modelfs.yaml$/);
		expect(r.stderr).toContain("does not exist yet");
	});
});
