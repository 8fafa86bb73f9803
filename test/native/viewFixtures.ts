import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import { listModelfsMounts } from "../../src/mount/listModelfsMounts.js";
import { type StartedMount, type StartMountParams, startMount } from "../../src/mount/startMount.js";
import { stopMount } from "../../src/mount/stopMount.js";
import { umountPath } from "../../src/mount/umountPath.js";
import { isProcessAlive } from "../../src/system/isProcessAlive.js";
import type { ViewDir, ViewNode } from "../../src/view/ViewTree.js";

/** A temp dir removed when the test ends (registered first: runs after the unmount). */
export function tempDir(prefix = "modelfs-fused-"): string {
	const dir = mkdtempSync(join(tmpdir(), prefix));
	onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
	return dir;
}

/** Is anything mounted exactly at `path` (a mountinfo line names it)? */
export function isMountPoint(path: string): boolean {
	return readFileSync("/proc/self/mountinfo", "utf8")
		.split("\n")
		.some((l) => l.split(" ")[4] === path);
}

/** Deterministic pseudo-random bytes. */
export function bytes(seed: string, size: number): Buffer {
	const out = Buffer.alloc(size);
	let block = createHash("sha512").update(seed).digest();
	for (let pos = 0; pos < size; pos += block.length) {
		block.copy(out, pos);
		block = createHash("sha512").update(block).digest();
	}
	return out;
}

export function sha256(b: Buffer): string {
	return createHash("sha256").update(b).digest("hex");
}

export interface ViewFixture {
	storeDir: string;
	tree: ViewDir;
	/** Every regular file of the view: path -> expected bytes. */
	files: Map<string, Buffer>;
	/** Every symlink: path -> target. */
	links: Map<string, string>;
	/** Every directory: path -> sorted entry names. */
	dirs: Map<string, string[]>;
	/** A file whose blob is not in the store. */
	missing: string;
}

/**
 * A store with blobs and a Hugging Face-shaped view of two models that share
 * one blob, with nested snapshot folders, an empty file, inline refs/main,
 * and a third repo whose blob is missing from the store. The daemon does not
 * check digests, so blobs are keyed by sha256 here (64 hex like BLAKE3).
 */
export function makeTwoModelView(root: string): ViewFixture {
	const storeDir = join(root, "store");
	mkdirSync(join(storeDir, "objects"), { recursive: true });
	const put = (content: Buffer): string => {
		const key = sha256(content);
		mkdirSync(join(storeDir, "objects", key.slice(0, 2)), { recursive: true });
		writeFileSync(join(storeDir, "objects", key.slice(0, 2), key), content, { mode: 0o444 });
		return key;
	};
	const shared = bytes("shared tokenizer", 700_001);
	const model = (name: string, weights: Buffer, commit: string): ViewDir => {
		const w = put(weights);
		const s = put(shared);
		const cfg = Buffer.from(JSON.stringify({ model: name }));
		const c = put(cfg);
		const empty = put(Buffer.alloc(0));
		return {
			kind: "dir",
			name: `models--org--${name}`,
			children: [
				{
					kind: "dir",
					name: "blobs",
					children: [
						{ kind: "file", name: `w-${name}`, size: weights.length, blake3: w },
						{ kind: "file", name: "tok", size: shared.length, blake3: s },
						{ kind: "file", name: `cfg-${name}`, size: cfg.length, blake3: c },
						{ kind: "file", name: "empty", size: 0, blake3: empty },
					],
				},
				{ kind: "dir", name: "refs", children: [{ kind: "file", name: "main", size: commit.length, content: commit }] },
				{
					kind: "dir",
					name: "snapshots",
					children: [
						{
							kind: "dir",
							name: commit,
							children: [
								{ kind: "symlink", name: "model.safetensors", target: `../../blobs/w-${name}` },
								{ kind: "symlink", name: "config.json", target: `../../blobs/cfg-${name}` },
								{ kind: "dir", name: "tokenizer", children: [{ kind: "symlink", name: "tokenizer.json", target: "../../../blobs/tok" }] },
								{ kind: "symlink", name: "empty.txt", target: "../../blobs/empty" },
							],
						},
					],
				},
			],
		};
	};
	const tree: ViewDir = {
		kind: "dir",
		name: "",
		children: [
			model("alpha", bytes("alpha weights", 3 * 1024 * 1024 + 123), "a".repeat(40)),
			model("beta", bytes("beta weights", 9 * 1024 * 1024 + 7), "b".repeat(40)),
			{
				kind: "dir",
				name: "models--org--broken",
				children: [{ kind: "dir", name: "blobs", children: [{ kind: "file", name: "gone", size: 10, blake3: "ab".repeat(32) }] }],
			},
		],
	};
	const files = new Map<string, Buffer>();
	const links = new Map<string, string>();
	const dirs = new Map<string, string[]>();
	const walk = (node: ViewNode, path: string) => {
		if (node.kind === "dir") {
			dirs.set(path || "/", node.children.map((c) => c.name).sort());
			for (const c of node.children) walk(c, `${path}/${c.name}`);
		} else if (node.kind === "symlink") links.set(path, node.target);
		else if (node.content !== undefined) files.set(path, Buffer.from(node.content));
		else if (node.blake3 !== "ab".repeat(32)) files.set(path, readFileSync(join(storeDir, "objects", node.blake3.slice(0, 2), node.blake3)));
	};
	walk(tree, "");
	return { storeDir, tree, files, links, dirs, missing: "/models--org--broken/blobs/gone" };
}

/**
 * Mounts with startMount and unmounts when the test ends, even when it
 * failed: stopMount, else a lazy detach and SIGKILL of the mount's processes.
 */
export async function mountForTest(params: StartMountParams): Promise<StartedMount> {
	const runRoot = params.runRoot ?? join(params.mountpoint, "..", "run");
	const mounted = await startMount({ ...params, runRoot });
	onTestFinished(async () => {
		await cleanupMount(params.mountpoint, runRoot);
	});
	return mounted;
}

export async function cleanupMount(mountpoint: string, runRoot: string): Promise<void> {
	for (let i = 0; i < 4; i++) {
		const here = (await listModelfsMounts({ runRoot })).filter((m) => m.mountpoint === mountpoint);
		if (here.length === 0) return;
		for (const m of here) {
			try {
				await stopMount({ mountpoint, runRoot, lazy: true, timeoutMs: 5000 });
			} catch {
				await umountPath({ mountpoint, detach: true });
			}
			for (const pid of [m.holderPid, m.daemonPid]) {
				if (pid !== null && isProcessAlive(pid)) {
					try {
						process.kill(pid, "SIGKILL");
					} catch {
						// gone
					}
				}
			}
		}
	}
}

/** sha256 of a file read through mmap, by a python3 child (Node has no mmap). */
export function mmapSha256(paths: string[]): string[] {
	const script =
		"import mmap,sys,hashlib\n" +
		"for p in sys.argv[1:]:\n" +
		"  with open(p,'rb') as f:\n" +
		"    import os\n" +
		"    n=os.fstat(f.fileno()).st_size\n" +
		"    if n==0: print(hashlib.sha256(b'').hexdigest()); continue\n" +
		"    m=mmap.mmap(f.fileno(),0,access=mmap.ACCESS_READ)\n" +
		"    print(hashlib.sha256(m).hexdigest()); m.close()\n";
	return execFileSync("python3", ["-c", script, ...paths], { encoding: "utf8" })
		.trim()
		.split("\n");
}
