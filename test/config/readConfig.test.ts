import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { readConfig } from "../../src/config/readConfig.js";

function configFile(text: string, name = "config.yaml"): string {
	const dir = mkdtempSync(join(tmpdir(), "modelfs-cfg-"));
	onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
	const path = join(dir, name);
	writeFileSync(path, text);
	return path;
}

const SAMPLE = `
store: /mnt/shared/modelfs
stateDir: /var/lib/modelfs
views:
  - name: hf
    mountpoint: /run/modelfs/hf
backends:
  - name: vllm
    target: /home/op/spark-vllm-docker/cache
    prefix: huggingface/hub
  - name: host
    target: /root/.cache/huggingface/hub
  - name: trtllm
    target: /home/op/spark-trtllm-docker/cache
    prefix: huggingface/hub
    upper: /data/local/trtllm-upper
    work: /data/local/trtllm-work
`;

describe("readConfig", () => {
	it("reads views and backends and works out each backend's lowerdir from one view", async () => {
		const c = await readConfig({ path: configFile(SAMPLE) });
		expect(c.store).toBe("/mnt/shared/modelfs");
		// The view takes the longest prefix its backends need.
		expect(c.views).toEqual([
			{ name: "hf", mountpoint: "/run/modelfs/hf", layout: "hf", prefix: "huggingface/hub", files: false, template: undefined, repos: undefined, dropCaches: false, prefetch: [] },
		]);
		const lowers = Object.fromEntries(c.backends.map((b) => [b.name, b.lower]));
		expect(lowers).toEqual({ vllm: "/run/modelfs/hf", host: "/run/modelfs/hf/huggingface/hub", trtllm: "/run/modelfs/hf" });
		expect(c.backends[2]).toMatchObject({ upper: "/data/local/trtllm-upper", work: "/data/local/trtllm-work" });
	});

	it("reads the same config as JSON, with paths relative to the file", async () => {
		const path = configFile(
			JSON.stringify({ store: "store", views: [{ name: "v", mountpoint: "view", layout: "flat", repos: ["org/m"] }], backends: [{ name: "b", target: "cache" }] }),
			"c.json",
		);
		const c = await readConfig({ path });
		const dir = join(path, "..");
		expect(c.store).toBe(join(dir, "store"));
		expect(c.views[0]).toMatchObject({ layout: "flat", repos: ["org/m"], mountpoint: join(dir, "view") });
		expect(c.backends[0]).toMatchObject({ view: "v", lower: join(dir, "view"), target: join(dir, "cache") });
	});

	it('refuses a backend that gives no prefix under a view that has one, naming both; prefix: "" says it on purpose', async () => {
		const silent = configFile(`store: /s\nviews: [{name: hf, mountpoint: /m, prefix: huggingface/hub}]\nbackends: [{name: vllm, target: /t}]\n`);
		await expect(readConfig({ path: silent })).rejects.toMatchObject({
			code: "CONFIG_INVALID",
			message: expect.stringContaining('backend vllm gives no prefix, but view hf has prefix "huggingface/hub"'),
			hint: expect.stringContaining("prefix: huggingface/hub"),
		});
		const explicit = configFile(`store: /s\nviews: [{name: hf, mountpoint: /m, prefix: huggingface/hub}]\nbackends: [{name: host, target: /t, prefix: ""}]\n`);
		expect((await readConfig({ path: explicit })).backends[0].lower).toBe("/m/huggingface/hub");
	});

	it("reads create: true for a backend, false by default", async () => {
		const c = await readConfig({ path: configFile(`store: /s\nviews: [{name: v, mountpoint: /m}]\nbackends: [{name: a, target: /a, create: true}, {name: b, target: /b}]\n`) });
		expect(c.backends.map((b) => b.create)).toEqual([true, false]);
	});

	it("reads dropCaches: true for a view, false by default, and refuses another value", async () => {
		const c = await readConfig({ path: configFile(`store: /s\nviews: [{name: v, mountpoint: /m, dropCaches: true}, {name: w, mountpoint: /n}]\n`) });
		expect(c.views.map((v) => v.dropCaches)).toEqual([true, false]);
		await expect(readConfig({ path: configFile(`store: /s\nviews: [{name: v, mountpoint: /m, dropCaches: yes-please}]\n`) })).rejects.toThrow(/dropCaches must be true or false/);
	});

	it("refuses a backend whose prefix the view cannot serve", async () => {
		const path = configFile(`store: /s\nviews: [{name: hf, mountpoint: /m, prefix: hub}]\nbackends: [{name: b, target: /t, prefix: huggingface/hub}]\n`);
		await expect(readConfig({ path })).rejects.toMatchObject({ code: "CONFIG_INVALID", message: expect.stringContaining("backend b") });
	});

	it("names the mistake: unknown key, unknown view, missing store, two views without a choice, bad layout, duplicate target", async () => {
		const cases: Array<[string, string]> = [
			[`store: /s\nviews: [{name: v, mountpoint: /m, mountpiont: /x}]\n`, "mountpiont"],
			[`store: /s\nviews: [{name: v, mountpoint: /m}]\nbackends: [{name: b, target: /t, view: w}]\n`, "no view named w"],
			[`views: [{name: v, mountpoint: /m}]\n`, "store"],
			[`store: /s\nviews: [{name: v, mountpoint: /m}, {name: w, mountpoint: /n}]\nbackends: [{name: b, target: /t}]\n`, "say which view"],
			[`store: /s\nviews: [{name: v, mountpoint: /m, layout: tree}]\n`, "layout"],
			[`store: /s\nviews: [{name: v, mountpoint: /m}]\nbackends: [{name: a, target: /t}, {name: b, target: /t}]\n`, "already used"],
			[`store: [unclosed\n`, "not valid YAML"],
		];
		for (const [text, needle] of cases) {
			await expect(readConfig({ path: configFile(text) }), needle).rejects.toMatchObject({ code: "CONFIG_INVALID", message: expect.stringContaining(needle) });
		}
	});

	it("says where the file should be when it is missing", async () => {
		await expect(readConfig({ path: "/nonexistent/modelfs.yaml" })).rejects.toMatchObject({ code: "CONFIG_NOT_FOUND" });
	});
});
