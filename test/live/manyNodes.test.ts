import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { bytes, tempDir, writeHubCache } from "../overlay/fixtures.js";
import { canMount } from "../support/canMount.js";
import { cliPath, repoRoot, runCli } from "../support/runCli.js";

const REPO = "org/gen";
const NODES = 3;
const GENERATIONS = 5;
/** The longest a reader node reads; it stops sooner, a few passes after the writer is done. */
const SECONDS = 120;

/** Generation g of the repo: shards of new bytes and a manifest naming every file's digest. */
function generationFiles(g: number) {
	const shards = Array.from({ length: 3 }, (_, i) => ({ path: `model-0000${i + 1}-of-00003.safetensors`, bytes: bytes(`gen-${g}-${i}`, (1 << 20) + g * 4096 + i) }));
	const manifest = { gen: g, files: Object.fromEntries(shards.map((s) => [s.path, createHash("sha256").update(s.bytes).digest("hex")])) };
	return [...shards, { path: "manifest.json", bytes: Buffer.from(JSON.stringify(manifest)) }];
}
const commitOf = (g: number) => createHash("sha1").update(`gen-${g}`).digest("hex");

/**
 * One reader node, run in its own mount namespace with its own runtime
 * folder: mounts the view of the read-only store, then until the writer is
 * done (`doneFile` exists) and three more passes ran, refreshes it (unless told to keep what it has) and checks every
 * snapshot it shows against that snapshot's manifest, byte for byte, and
 * that refs/main names a snapshot it shows; checks its view's holder and
 * daemon do not map the store's LMDB index. Unmounts at the end and prints
 * {passes, generations, errors} as JSON.
 */
const READER_NODE = `
const { spawnSync } = require("node:child_process"), fs = require("node:fs"), path = require("node:path"), crypto = require("node:crypto");
const [root, cli, store, mnt, seconds, refresh, doneFile] = process.argv.slice(1);
const run = (...a) => spawnSync(process.execPath, ["--import", "tsx", cli, ...a], { cwd: root, encoding: "utf8" });
const errors = [], generations = new Set(); let passes = 0;
const m = run("mount", mnt, "--store", store);
if (m.status !== 0) { process.stdout.write(JSON.stringify({ passes, generations: [], errors: ["mount: " + m.stderr] })); process.exit(0); }
// The view's own processes must not map the shared index (only the writer's host may open LMDB).
for (const e of fs.readdirSync(process.env.MODELFS_RUN_DIR, { withFileTypes: true, recursive: true }))
	if (e.isFile() && e.name.endsWith(".pid")) {
		const pid = fs.readFileSync(path.join(e.parentPath, e.name), "utf8").trim();
		try { if (fs.readFileSync("/proc/" + pid + "/maps", "utf8").includes("data.mdb")) errors.push(e.name + " maps the store's LMDB index"); } catch {}
	}
const repo = path.join(mnt, "models--org--gen");
// Until the writer is done and three more passes have seen its last generation (at most \`seconds\`).
const end = Date.now() + Number(seconds) * 1000;
let passesAfterDone = 0;
try {
	while (Date.now() < end && errors.length < 5 && passesAfterDone < 3) {
		const writerDone = fs.existsSync(doneFile);
		if (refresh === "yes") { const r = run("refresh", mnt); if (r.status !== 0) errors.push("refresh: " + r.stderr); }
		try {
			const snaps = fs.readdirSync(path.join(repo, "snapshots"));
			const main = fs.readFileSync(path.join(repo, "refs", "main"), "utf8").trim();
			if (!snaps.includes(main)) throw new Error("refs/main names " + main + ", not a snapshot shown: " + snaps.join());
			for (const s of snaps) {
				const dir = path.join(repo, "snapshots", s);
				const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
				const names = fs.readdirSync(dir).filter((n) => n !== "manifest.json").sort();
				if (names.join() !== Object.keys(manifest.files).sort().join()) throw new Error("generation " + manifest.gen + " shows " + names.join());
				for (const [n, digest] of Object.entries(manifest.files))
					if (crypto.createHash("sha256").update(fs.readFileSync(path.join(dir, n))).digest("hex") !== digest) throw new Error("generation " + manifest.gen + ": bytes of " + n);
				generations.add(manifest.gen);
			}
			passes++;
			if (writerDone) passesAfterDone++;
		} catch (e) { errors.push(String(e && e.message || e)); }
	}
} finally {
	const u = run("umount", mnt);
	if (u.status !== 0) errors.push("umount: " + u.stderr);
}
process.stdout.write(JSON.stringify({ passes, generations: [...generations].sort((a, b) => a - b), errors }));
`;

/** Every holder.pid and daemon.pid under a node's runtime folder. */
function pidsUnder(dir: string): number[] {
	const out: number[] = [];
	if (!existsSync(dir)) return out;
	for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
		if (e.isFile() && (e.name === "holder.pid" || e.name === "daemon.pid")) {
			const pid = Number(readFileSync(join(e.parentPath, e.name), "utf8").trim());
			if (pid > 0) out.push(pid);
		}
	return out;
}

describe.runIf(canMount)("many nodes on one shared store", () => {
	it(
		`${NODES} reader nodes (own mount namespace, own runtime folder, read-only store) show only complete generations while a writer imports ${GENERATIONS}; a node that does not refresh keeps serving its own`,
		async () => {
			const root = realpathSync(tempDir("modelfs-nodes-"));
			const storeDir = join(root, "store");
			const cacheOf = (g: number) => {
				const dir = join(root, `cache-${g}`);
				writeHubCache({ dir, repo: REPO, files: generationFiles(g), commit: commitOf(g) });
				return dir;
			};
			expect((await runCli(["import", cacheOf(1), "--store", storeDir])).code).toBe(0);
			// What a reader node sees of the shared volume: a read-only bind mount of it.
			const shared = join(root, "shared");
			mkdirSync(shared);
			for (const args of [
				["--bind", storeDir, shared],
				["-o", "remount,bind,ro", shared],
			])
				expect(spawnSync("mount", args).status).toBe(0);
			onTestFinished(() => {
				spawnSync("umount", ["-l", shared]);
			});

			const doneFile = join(root, "writer-done");
			const nodes = Array.from({ length: NODES + 1 }, (_, i) => {
				const runDir = join(root, `node-${i}`, "run");
				const mnt = join(root, `node-${i}`, "view");
				mkdirSync(runDir, { recursive: true });
				mkdirSync(mnt, { recursive: true });
				// The last node never refreshes: it stands for a node whose copy of the store lags.
				const refresh = i < NODES ? "yes" : "no";
				const child = spawn(
					"unshare",
					["-m", "--propagation", "private", process.execPath, "-e", READER_NODE, repoRoot, cliPath, shared, mnt, String(SECONDS), refresh, doneFile],
					{
						env: { ...process.env, MODELFS_RUN_DIR: runDir },
						stdio: ["ignore", "pipe", "pipe"],
					},
				);
				onTestFinished(() => {
					if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
					// Its view's processes live in its namespace: end them by their pid files.
					for (const pid of pidsUnder(runDir)) spawnSync("kill", ["-9", String(pid)]);
				});
				let out = "";
				let err = "";
				child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
				child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
				const done = new Promise<{ passes: number; generations: number[]; errors: string[] }>((resolve, reject) =>
					child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`node ${i} exited ${code}: ${err}`)))),
				);
				return { runDir, refresh, done };
			});

			// The writer node: one import after another while the readers read.
			await new Promise((r) => setTimeout(r, 4000));
			for (let g = 2; g <= GENERATIONS; g++) {
				const r = await runCli(["import", cacheOf(g), "--store", storeDir]);
				expect({ g, code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
				await new Promise((r) => setTimeout(r, 2500));
			}
			writeFileSync(doneFile, "");
			const results = await Promise.all(nodes.map((n) => n.done));
			for (const [i, r] of results.entries()) {
				expect({ node: i, errors: r.errors }).toEqual({ node: i, errors: [] });
				expect(r.passes).toBeGreaterThan(3);
			}
			// The refreshing nodes saw the writer's last generation; the lagging one served the first all along.
			for (const r of results.slice(0, NODES)) expect(r.generations).toContain(GENERATIONS);
			expect(results[NODES].generations).toEqual([1]);
		},
		(SECONDS + 90) * 1000,
	);
});
