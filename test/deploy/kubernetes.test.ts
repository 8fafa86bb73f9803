import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { parseAllDocuments } from "yaml";
import { readConfig } from "../../src/config/readConfig.js";
import { repoRoot } from "../support/runCli.js";

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML manifests are walked by key paths the test names
type Obj = any;

const dir = join(repoRoot, "deploy", "kubernetes");

function load(name: string): Obj[] {
	const docs = parseAllDocuments(readFileSync(join(dir, name), "utf8"));
	for (const d of docs) expect(d.errors, name).toEqual([]);
	return docs.map((d) => d.toJS());
}

function one(name: string, kind: string): Obj {
	const found = load(name).filter((d) => d?.kind === kind);
	expect(found, `${name} has one ${kind}`).toHaveLength(1);
	return found[0];
}

const inside = (child: string, parent: string) => !relative(parent, child).startsWith("..");

describe("deploy/kubernetes", () => {
	it("parses every manifest", () => {
		const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
		expect(files.sort()).toEqual(["configmap.yaml", "daemonset.yaml", "example-vllm.yaml", "ingest-job.yaml", "keeper-daemonset.yaml", "namespace.yaml", "store-pvc.yaml"]);
		for (const f of files) for (const d of load(f)) expect(d.apiVersion && d.kind && d.metadata?.name, f).toBeTruthy();
	});

	it("runs modelfs up in the foreground in a privileged DaemonSet with /dev/fuse and Bidirectional hostPaths at their own paths", () => {
		const ds = one("daemonset.yaml", "DaemonSet");
		const pod = ds.spec.template.spec;
		expect(ds.spec.selector.matchLabels).toEqual(ds.spec.template.metadata.labels);
		const c = pod.containers[0];
		expect(c.command.slice(0, 3)).toEqual(["modelfs", "up", "--foreground"]);
		// A restart or rollout of this pod must not take the views from running backends.
		expect(c.command).toContain("--leave-up");
		expect(c.lifecycle?.preStop).toBeUndefined();
		// Someone must reap replaced holders and daemons.
		expect(pod.shareProcessNamespace).toBe(true);
		expect(c.securityContext.privileged).toBe(true);
		const volumes = new Map<string, Obj>(pod.volumes.map((v: Obj) => [v.name, v]));
		const mounts = new Map<string, Obj>(c.volumeMounts.map((m: Obj) => [m.name, m]));
		for (const m of c.volumeMounts) expect(volumes.has(m.name), m.name).toBe(true);
		expect(volumes.get("dev-fuse").hostPath).toEqual({ path: "/dev/fuse", type: "CharDevice" });
		expect(mounts.get("dev-fuse").mountPath).toBe("/dev/fuse");
		for (const name of ["run", "backends"]) {
			expect(mounts.get(name).mountPropagation, name).toBe("Bidirectional");
			// Same path inside and out, so mountinfo and overlay options name host paths.
			expect(mounts.get(name).mountPath, name).toBe(volumes.get(name).hostPath.path);
		}
		expect(mounts.get("store").readOnly).toBe(true);
		expect(mounts.get("state").mountPath).toBe(volumes.get("state").hostPath.path);
	});

	it("parks the fds in a keeper DaemonSet that a rollout of modelfs never replaces, over a hostPath both share", () => {
		const ds = one("daemonset.yaml", "DaemonSet");
		const keeper = one("keeper-daemonset.yaml", "DaemonSet");
		const k = keeper.spec.template.spec.containers[0];
		expect(keeper.spec.updateStrategy.type).toBe("OnDelete");
		expect(k.command.slice(0, 2)).toEqual(["modelfs-fused", "keep"]);
		expect(k.securityContext?.privileged).not.toBe(true);
		const dir = k.command[k.command.indexOf("--dir") + 1];
		const kvol = keeper.spec.template.spec.volumes.find((v: Obj) => v.name === k.volumeMounts.find((m: Obj) => m.mountPath === dir).name);
		const c = ds.spec.template.spec.containers[0];
		expect(c.env.find((e: Obj) => e.name === "MODELFS_FD_KEEPER").value).toBe(dir);
		const mount = c.volumeMounts.find((m: Obj) => m.mountPath === dir);
		const vol = ds.spec.template.spec.volumes.find((v: Obj) => v.name === mount.name);
		expect(vol.hostPath.path).toBe(kvol.hostPath.path);
		expect(keeper.spec.template.spec.nodeSelector).toEqual(ds.spec.template.spec.nodeSelector);
	});

	it("has a config whose views, targets and state live on the DaemonSet's hostPath mounts", async () => {
		const cm = one("configmap.yaml", "ConfigMap");
		const tmp = mkdtempSync(join(tmpdir(), "modelfs-k8s-"));
		onTestFinished(() => rmSync(tmp, { recursive: true, force: true }));
		writeFileSync(join(tmp, "config.yaml"), cm.data["config.yaml"]);
		const config = await readConfig({ path: join(tmp, "config.yaml") });
		const ds = one("daemonset.yaml", "DaemonSet");
		const c = ds.spec.template.spec.containers[0];
		const mountOf = (name: string) => c.volumeMounts.find((m: Obj) => m.name === name);
		expect(c.command).toContain(join(mountOf("config").mountPath, "config.yaml"));
		expect(config.store).toBe(mountOf("store").mountPath);
		expect(inside(config.stateDir, mountOf("state").mountPath)).toBe(true);
		for (const v of config.views) expect(inside(v.mountpoint, mountOf("run").mountPath), v.name).toBe(true);
		for (const b of config.backends) expect(inside(b.target, mountOf("backends").mountPath), b.name).toBe(true);
		expect(config.backends.find((b) => b.name === "trtllm")?.lower).toBe("/run/modelfs/hf/huggingface/hub");
	});

	it("fills the store with a Job that runs modelfs sync of the config's models on the writable store", async () => {
		const job = one("ingest-job.yaml", "Job");
		const pod = job.spec.template.spec;
		expect(["OnFailure", "Never"]).toContain(pod.restartPolicy);
		const c = pod.containers[0];
		expect(c.command.slice(0, 2)).toEqual(["modelfs", "sync"]);
		const cfg = c.volumeMounts.find((m: Obj) => m.name === "config");
		expect(c.command).toEqual(expect.arrayContaining(["--config", join(cfg.mountPath, "config.yaml")]));
		expect(pod.volumes.find((v: Obj) => v.name === "config").configMap.name).toBe(one("configmap.yaml", "ConfigMap").metadata.name);
		const tmp = mkdtempSync(join(tmpdir(), "modelfs-k8s-"));
		onTestFinished(() => rmSync(tmp, { recursive: true, force: true }));
		writeFileSync(join(tmp, "config.yaml"), one("configmap.yaml", "ConfigMap").data["config.yaml"]);
		expect((await readConfig({ path: join(tmp, "config.yaml") })).models.length).toBeGreaterThan(0);
		const store = c.volumeMounts.find((m: Obj) => m.name === "store");
		expect(store.readOnly).not.toBe(true);
		expect(c.command).toEqual(expect.arrayContaining(["--store", store.mountPath]));
		expect(c.env.find((e: Obj) => e.name === "HF_TOKEN").valueFrom.secretKeyRef.name).toBe("hf-token");
		const ds = one("daemonset.yaml", "DaemonSet");
		const dsStore = ds.spec.template.spec.volumes.find((v: Obj) => v.name === "store");
		expect(pod.volumes.find((v: Obj) => v.name === "store").persistentVolumeClaim.claimName).toBe(dsStore.persistentVolumeClaim.claimName);
		expect(one("store-pvc.yaml", "PersistentVolumeClaim").spec.accessModes).toEqual(["ReadWriteMany"]);
		// The sizing note names the field the dry runs print.
		expect(readFileSync(join(dir, "store-pvc.yaml"), "utf8")).toContain("downloadBytes");
	});

	it("probes readiness and liveness with status --require-up, exports metrics from the config, and keeps watching for new catalogs", async () => {
		const ds = one("daemonset.yaml", "DaemonSet");
		const c = ds.spec.template.spec.containers[0];
		for (const probe of [c.readinessProbe, c.livenessProbe]) expect(probe.exec.command).toEqual(expect.arrayContaining(["modelfs", "status", "--require-up"]));
		expect(c.command).toEqual(expect.arrayContaining(["--watch"]));
		const tmp = mkdtempSync(join(tmpdir(), "modelfs-k8s-"));
		onTestFinished(() => rmSync(tmp, { recursive: true, force: true }));
		writeFileSync(join(tmp, "config.yaml"), one("configmap.yaml", "ConfigMap").data["config.yaml"]);
		const config = await readConfig({ path: join(tmp, "config.yaml") });
		expect(c.ports.find((p: Obj) => p.name === "metrics").containerPort).toBe(config.metrics?.port);
		// A new node has no backend folders yet: the config says to create them.
		for (const b of config.backends) expect(b.create, b.name).toBe(true);
	});

	it("builds the image from this repository: the Dockerfile runs npm ci from the repo root and ships the CLI and the daemon", () => {
		const text = readFileSync(join(dir, "Dockerfile"), "utf8");
		expect(text).toMatch(/COPY \. \./);
		expect(text).toMatch(/npm ci/);
		expect(text).toContain("native/build/modelfs-fused");
		expect(text).toContain("dist/cli.js");
	});

	it("shows a backend reading a configured target at /root/.cache with HostToContainer propagation", async () => {
		const dep = one("example-vllm.yaml", "Deployment");
		const pod = dep.spec.template.spec;
		const mount = pod.containers[0].volumeMounts.find((m: Obj) => m.mountPath === "/root/.cache");
		expect(mount.mountPropagation).toBe("HostToContainer");
		const hostPath = pod.volumes.find((v: Obj) => v.name === mount.name).hostPath.path;
		const cm = one("configmap.yaml", "ConfigMap");
		const tmp = mkdtempSync(join(tmpdir(), "modelfs-k8s-"));
		onTestFinished(() => rmSync(tmp, { recursive: true, force: true }));
		writeFileSync(join(tmp, "config.yaml"), cm.data["config.yaml"]);
		const backend = (await readConfig({ path: join(tmp, "config.yaml") })).backends.find((b) => b.target === hostPath);
		// HF_HOME defaults to /root/.cache/huggingface, so the hub must sit at huggingface/hub.
		expect(backend?.prefix).toBe("huggingface/hub");
	});
});
