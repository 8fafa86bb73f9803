import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { onTestFinished } from "vitest";
import type { ModelfsConfig } from "../../src/config/ModelfsConfig.js";
import { readConfig } from "../../src/config/readConfig.js";
import { listModelfsMounts } from "../../src/mount/listModelfsMounts.js";
import type { ModelfsMount } from "../../src/mount/MountTypes.js";
import { readMountStats } from "../../src/mount/readMountStats.js";
import { isProcessAlive } from "../../src/system/isProcessAlive.js";
import { bytes, isMountPoint, tempDir } from "../native/viewFixtures.js";
import { addRepoToStore } from "../overlay/makeStore.js";

export { bytes, isMountPoint };

const BACKEND = fileURLToPath(new URL("./backend.py", import.meta.url));

export function sha256(b: Buffer): string {
	return createHash("sha256").update(b).digest("hex");
}

export interface LiveModel {
	repo: string;
	commit: string;
	/** path in the snapshot -> sha256 of its bytes */
	files: Map<string, string>;
}

export interface LiveNode {
	root: string;
	storeDir: string;
	runRoot: string;
	stateDir: string;
	/** The config file. */
	configPath: string;
	config: ModelfsConfig;
	/** The view's mountpoint. */
	view: string;
	/** The backend's folder: the overlay (HF_HUB_CACHE itself, prefix ""). */
	target: string;
	/** Environment for runCli: this node's run root and state folder. */
	env: NodeJS.ProcessEnv;
	models: LiveModel[];
}

/** The snapshot path of a file of a model, under the backend's folder (or the view with `base`). */
export function modelPath(node: LiveNode, m: LiveModel, path: string, base = node.target): string {
	return join(base, `models--${m.repo.replace("/", "--")}`, "snapshots", m.commit, path);
}

/** Adds a model (a config and a weights file of `size` bytes) to the node's store. */
export async function addModel(node: LiveNode, repo: string, size = 256 * 1024): Promise<LiveModel> {
	const weights = bytes(`${repo} weights`, size);
	const config = Buffer.from(JSON.stringify({ repo }));
	const commit = await addRepoToStore({
		storeDir: node.storeDir,
		repo,
		files: [
			{ path: "config.json", bytes: config },
			{ path: "model.safetensors", bytes: weights },
		],
	});
	const m = {
		repo,
		commit,
		files: new Map([
			["config.json", sha256(config)],
			["model.safetensors", sha256(weights)],
		]),
	};
	node.models.push(m);
	return m;
}

/**
 * A node: a store with one large model and `extra` small ones, a config
 * with one view and one backend folder, and cleanup that ends every
 * process and mount the test made there, even when it failed.
 */
export async function makeLiveNode(params: { bigSize?: number; extra?: number } = {}): Promise<LiveNode> {
	const root = realpathSync(tempDir("modelfs-live-"));
	const storeDir = join(root, "store");
	const runRoot = join(root, "run");
	const stateDir = join(root, "state");
	const view = join(root, "view");
	const target = join(root, "backend-cache");
	mkdirSync(view);
	mkdirSync(target);
	const configPath = join(root, "modelfs.yaml");
	writeFileSync(
		configPath,
		[`store: ${storeDir}`, `stateDir: ${stateDir}`, "views:", `  - {name: hf, mountpoint: ${view}}`, "backends:", `  - {name: vllm, target: ${target}, prefix: ""}`, ""].join("\n"),
	);
	const node: LiveNode = {
		root,
		storeDir,
		runRoot,
		stateDir,
		configPath,
		config: await readConfig({ path: configPath }),
		view,
		target,
		env: { MODELFS_RUN_DIR: runRoot, MODELFS_STATE_DIR: stateDir, MODELFS_CONFIG: configPath },
		models: [],
	};
	onTestFinished(() => cleanupNode(node));
	await addModel(node, "org/big", params.bigSize ?? 64 << 20);
	for (let i = 0; i < (params.extra ?? 2); i++) await addModel(node, `org/small${i}`);
	return node;
}

/** Every holder and daemon of the node's instances, and everything mounted under its root. */
export async function cleanupNode(node: LiveNode): Promise<void> {
	const pids = new Set<number>();
	for (const dir of safeReaddir(join(node.runRoot, "instances"))) {
		for (const f of ["holder.pid", "daemon.pid"]) {
			const pid = Number.parseInt(safeRead(join(node.runRoot, "instances", dir, f)), 10);
			if (pid > 0) pids.add(pid);
		}
	}
	for (const m of await listModelfsMounts({ runRoot: node.runRoot }).catch(() => [] as ModelfsMount[])) {
		if (m.holderPid) pids.add(m.holderPid);
		if (m.daemonPid) pids.add(m.daemonPid);
	}
	for (let i = 0; i < 8 && isMountPoint(node.target); i++) execFileSync("umount", ["-l", node.target]);
	for (let i = 0; i < 8 && isMountPoint(node.view); i++) execFileSync("umount", ["-l", node.view]);
	for (const pid of pids) {
		if (!isProcessAlive(pid)) continue;
		try {
			if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("modelfs-fused")) process.kill(pid, "SIGKILL");
		} catch {
			// gone
		}
	}
}

function safeReaddir(dir: string): string[] {
	try {
		return readdirSync(dir);
	} catch {
		return [];
	}
}

function safeRead(path: string): string {
	try {
		return readFileSync(path, "utf8");
	} catch {
		return "";
	}
}

/** The view's mount (this namespace), newest instance. */
export async function viewMount(node: LiveNode): Promise<ModelfsMount> {
	const m = (await listModelfsMounts({ runRoot: node.runRoot })).filter((x) => x.mountpoint === node.view).pop();
	if (!m) throw new Error(`${node.view} is not mounted`);
	return m;
}

export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000, step = 20): Promise<boolean> {
	const end = Date.now() + ms;
	while (Date.now() < end) {
		if (await cond()) return true;
		await new Promise((r) => setTimeout(r, step));
	}
	return cond();
}

/** backingIdsOpen once it reaches 0, or its value after `ms`. */
export async function backingIdsSettle(runtimeDir: string, ms = 5000): Promise<number | undefined> {
	let n: number | undefined;
	await waitFor(async () => {
		n = (await readMountStats({ runtimeDir }))?.backingIdsOpen;
		return n === 0;
	}, ms);
	return n;
}

export interface BackendEvent {
	event: string;
	op?: string;
	ms?: number;
	t?: number;
	path?: string;
	after_s?: number;
	error?: string;
	[k: string]: unknown;
}

export interface Backend {
	pid: number;
	events: BackendEvent[];
	/** Asks it to read `path` (checked against sha256) once it appears; resolves with what it saw. */
	want: (path: string, sha: string, timeoutS?: number) => Promise<BackendEvent>;
	/** The longest operation (of kind `op`, else any) it saw over 20 ms between two wall-clock times (s since the epoch), ms; 0 when none. */
	maxPauseBetween: (from: number, to: number, op?: string) => number;
	errors: () => BackendEvent[];
	stop: () => Promise<BackendEvent>;
}

/**
 * A backend in its own private mount namespace (unshare -m --propagation
 * private, as Docker's default rprivate bind gives a container), reading
 * through the node's backend folder: it streams the big model, holds an
 * mmap of it, and opens the small files every 50 ms.
 */
export async function startBackend(node: LiveNode, base = node.target): Promise<Backend> {
	const ctl = join(node.root, `ctl-${Date.now()}-${Math.random().toString(16).slice(2, 8)}`);
	mkdirSync(ctl);
	const big = node.models.find((m) => m.repo === "org/big") as LiveModel;
	const args = [BACKEND, "--ctl", ctl, "--stream", modelPath(node, big, "model.safetensors", base), big.files.get("model.safetensors") as string];
	for (const m of node.models) for (const [p, h] of m.files) if (m !== big || p === "config.json") args.push("--open", modelPath(node, m, p, base), h);
	const child: ChildProcess = spawn("unshare", ["-m", "--propagation", "private", "python3", ...args], { stdio: ["ignore", "pipe", "pipe"] });
	onTestFinished(() => {
		if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
	});
	const events: BackendEvent[] = [];
	const waiters: Array<() => void> = [];
	let buf = "";
	let stderr = "";
	child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
	child.stdout?.setEncoding("utf8").on("data", (d: string) => {
		buf += d;
		for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
			const line = buf.slice(0, nl);
			buf = buf.slice(nl + 1);
			try {
				events.push(JSON.parse(line));
			} catch {
				events.push({ event: "garbage", error: line });
			}
			for (const w of waiters.splice(0)) w();
		}
	});
	const exited = new Promise<void>((r) => child.on("close", () => r()));
	const next = (pred: (e: BackendEvent) => boolean, ms: number): Promise<BackendEvent> =>
		new Promise((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`backend: no such event within ${ms} ms (stderr: ${stderr})`)), ms);
			const check = () => {
				const e = events.find(pred);
				if (e) {
					clearTimeout(timer);
					resolve(e);
				} else waiters.push(check);
			};
			check();
		});
	await next((e) => e.event === "ready", 30_000);
	let n = 0;
	return {
		pid: child.pid as number,
		events,
		want: (path, sha, timeoutS = 5) => {
			const id = n++;
			writeFileSync(join(ctl, `want-${String(id).padStart(4, "0")}.json`), JSON.stringify({ id, path, sha256: sha, timeout_s: timeoutS }));
			return next((e) => (e.event === "appeared" || e.event === "missing") && e.id === id, (timeoutS + 10) * 1000);
		},
		maxPauseBetween: (from, to, op) =>
			Math.max(
				0,
				...events
					.filter((e) => e.event === "slow" && (op === undefined || e.op === op))
					// An event is stamped when the operation ended: it overlaps the window if it ended after `from`.
					.filter((e) => (e.t as number) >= from && (e.t as number) - (e.ms as number) / 1000 <= to)
					.map((e) => e.ms as number),
			),
		errors: () => events.filter((e) => e.event === "error" || e.event === "garbage"),
		stop: async () => {
			writeFileSync(join(ctl, "stop"), "");
			const s = await next((e) => e.event === "summary", 60_000);
			await exited;
			return s;
		},
	};
}

/** A new folder under the node's root. */
export function tempDirFor(node: LiveNode, name: string): string {
	const dir = join(node.root, `${name}-${Math.random().toString(16).slice(2, 8)}`);
	mkdirSync(dir);
	return dir;
}
