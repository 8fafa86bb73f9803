/**
 * `npm run bench:scale`: what a big store costs a node. Generates a store
 * of 100,000 files in 1,000 repos (small shared blobs: the view's tree is
 * what scales, not its bytes), then measures with the built CLI
 * (dist/cli.js, as an operator runs it): `modelfs mount` time, the holder's
 * and the daemon's RSS once mounted and after a walk of every file, `ls`,
 * `info` and `status` latency, and the time of an in-place refresh after
 * one more repo is imported. Prints a markdown table and writes
 * bench/results/<date>-<host>-scale.json.
 *
 *   npm run bench:scale                        # 1,000 repos x 100 files
 *   npm run bench:scale -- --repos 100         # a quicker look
 *
 * Needs root and /dev/fuse (it mounts) and `npm install` (dist/ and the daemon).
 */

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, hostname, release, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { generateScaleStore } from "./scale/generateScaleStore.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "dist", "cli.js");

interface Timed {
	ms: number;
	stdout: string;
}

/** Runs the built CLI and times it, wall clock, Node's start included (what an operator waits for). */
function modelfs(args: string[], env: NodeJS.ProcessEnv): Timed {
	const t0 = process.hrtime.bigint();
	const r = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, encoding: "utf8", maxBuffer: 1 << 30 });
	const ms = Number(process.hrtime.bigint() - t0) / 1e6;
	if (r.status !== 0) throw new Error(`modelfs ${args.join(" ")} failed (${r.status}): ${r.stderr.trim()}`);
	return { ms, stdout: r.stdout };
}

function rssKiB(pid: number): number {
	const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
	return m ? Number(m[1]) : 0;
}

/** Median of `n` runs of `args`. */
function medianMs(n: number, args: string[], env: NodeJS.ProcessEnv): number {
	const xs = Array.from({ length: n }, () => modelfs(args, env).ms).sort((a, b) => a - b);
	return xs[Math.floor(n / 2)];
}

function walk(dir: string): number {
	let n = 0;
	for (const e of readdirSync(dir, { withFileTypes: true })) {
		const p = join(dir, e.name);
		if (e.isDirectory()) n += walk(p);
		else {
			statSync(p);
			n++;
		}
	}
	return n;
}

async function main(): Promise<void> {
	const program = new Command("bench:scale")
		.description("mount time, memory and command latency of modelfs with a store of many files")
		.option("--repos <n>", "repos to generate", (v) => Number.parseInt(v, 10), 1000)
		.option("--files-per-repo <n>", "files per repo", (v) => Number.parseInt(v, 10), 100)
		.option("--no-results", "write no JSON");
	program.parse(process.argv);
	const opts = program.opts<{ repos: number; filesPerRepo: number; results: boolean }>();
	if (process.getuid?.() !== 0) {
		process.stderr.write("bench:scale mounts FUSE, so it needs root: run it with sudo\n");
		process.exitCode = 2;
		return;
	}
	const work = mkdtempSync(join(tmpdir(), "modelfs-scale-"));
	const storeDir = join(work, "store");
	const mnt = join(work, "view");
	const runDir = join(work, "run");
	mkdirSync(mnt);
	mkdirSync(runDir);
	const env = { MODELFS_STORE: storeDir, MODELFS_RUN_DIR: runDir, MODELFS_CONFIG: join(work, "no-config.yaml") };
	const log = (line: string) => process.stderr.write(`bench:scale: ${line}\n`);
	let mounted = false;
	try {
		log(`generating ${opts.repos} repos x ${opts.filesPerRepo} files in ${storeDir}`);
		const t0 = Date.now();
		const gen = await generateScaleStore({ storeDir, scratch: join(work, "scratch"), repos: opts.repos, filesPerRepo: opts.filesPerRepo });
		log(`generated ${gen.files} files in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

		const mount = modelfs(["mount", mnt, "--json"], env);
		mounted = true;
		const summary = JSON.parse(mount.stdout) as { holderPid: number; runtimeDir: string };
		const m = { holderPid: summary.holderPid, daemonPid: Number(readFileSync(join(summary.runtimeDir, "daemon.pid"), "utf8").trim()) };
		const rssMounted = { holder: rssKiB(m.holderPid), daemon: rssKiB(m.daemonPid) };
		log(`mounted in ${mount.ms.toFixed(0)} ms; walking every file`);
		const w0 = Date.now();
		const walked = walk(mnt);
		const walkMs = Date.now() - w0;
		const rssWalked = { holder: rssKiB(m.holderPid), daemon: rssKiB(m.daemonPid) };
		const name = "scale/m0500".replace("0500", String(Math.floor(opts.repos / 2)).padStart(4, "0"));
		const ls = medianMs(3, ["ls", "--json"], env);
		const info = medianMs(3, ["info", name, "--json"], env);
		const status = medianMs(3, ["status", "--json"], env);

		// One more repo, then the view refreshed in place.
		const extra = join(work, "extra");
		mkdirSync(extra);
		writeFileSync(join(extra, "config.json"), '{"extra":true}\n');
		modelfs(["import", extra, "--as", "scale/extra"], env);
		const refresh = modelfs(["refresh", mnt, "--json"], env);
		const rssRefreshed = { holder: rssKiB(m.holderPid), daemon: rssKiB(m.daemonPid) };

		const report = {
			kind: "scale",
			date: new Date().toISOString(),
			host: hostname(),
			kernel: release(),
			cpu: cpus()[0]?.model ?? "unknown",
			cores: cpus().length,
			repos: opts.repos,
			files: gen.files,
			entriesWalked: walked,
			mountMs: mount.ms,
			walkMs,
			rssKiB: { mounted: rssMounted, afterWalk: rssWalked, afterRefresh: rssRefreshed },
			latencyMs: { ls, info, status },
			refreshMs: refresh.ms,
		};
		const mib = (k: number) => `${(k / 1024).toFixed(1)} MiB`;
		const lines = [
			`## modelfs scale bench: ${report.date.slice(0, 16).replace("T", " ")} UTC, ${report.host}, Linux ${report.kernel}, ${report.cores} cores`,
			"",
			`${gen.files.toLocaleString("en")} files in ${opts.repos.toLocaleString("en")} repos. Times are wall clock of the built CLI (Node's start included); ls, info and status: median of 3.`,
			"",
			"| what | measured |",
			"|---|---:|",
			`| \`modelfs mount\` | ${(mount.ms / 1000).toFixed(1)} s |`,
			`| holder RSS, mounted / after a walk of every file / after a refresh | ${mib(rssMounted.holder)} / ${mib(rssWalked.holder)} / ${mib(rssRefreshed.holder)} |`,
			`| daemon RSS, mounted / after a walk of every file / after a refresh | ${mib(rssMounted.daemon)} / ${mib(rssWalked.daemon)} / ${mib(rssRefreshed.daemon)} |`,
			`| walk: readdir + stat of ${walked.toLocaleString("en")} entries, first time | ${(walkMs / 1000).toFixed(1)} s |`,
			`| \`modelfs ls --json\` | ${ls.toFixed(0)} ms |`,
			`| \`modelfs info ${name}\` | ${info.toFixed(0)} ms |`,
			`| \`modelfs status --json\` | ${status.toFixed(0)} ms |`,
			`| \`modelfs refresh\` in place, after one more repo was imported | ${(refresh.ms / 1000).toFixed(1)} s |`,
			"",
		];
		process.stdout.write(`${lines.join("\n")}\n`);
		if (opts.results) {
			const dir = join(root, "bench", "results");
			mkdirSync(dir, { recursive: true });
			const file = join(dir, `${report.date.slice(0, 10)}-${report.host}-scale.json`);
			writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
			log(`wrote ${file}`);
		}
	} finally {
		if (mounted) spawnSync(process.execPath, [cli, "umount", mnt], { env: { ...process.env, ...env }, stdio: "inherit" });
		rmSync(work, { recursive: true, force: true });
	}
}

main().catch((err: Error) => {
	process.stderr.write(`bench:scale: ${err.message}\n`);
	process.exitCode = 1;
});
