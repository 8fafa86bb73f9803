/**
 * Hub ingest throughput: `modelfs ingest` from the hub emulator over
 * loopback, beside `curl` fetching the same files from the same emulator in
 * the same run (`curl -s -o <file>`, one after another, and `curl -Z` with as
 * many transfers at once as ingest's --concurrency). Ingest also hashes every
 * byte (BLAKE3 + sha256) and makes it durable in the store (fsync, or
 * O_DIRECT on local disks), which curl does not, so the goal is >= 0.8x the
 * best curl row; the "curl, then sync" row shows curl with the same
 * durability. The emulator serves generated safetensors-sized shards from
 * disk in this process; ingest and curl run as child processes.
 *
 *   npm run bench:ingest-hub -- [--size-gib 2] [--files 4] [--runs 3] [--concurrency 4] [--quick] [--json out.json] [--dir /path]
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, hostname, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startHubEmulator } from "../src/emulator/index.js";
import { createChunkPool } from "../src/ingest/hub/createChunkPool.js";
import { createBlobWriter } from "../src/store/objects/createBlobWriter.js";
import { openStore } from "../src/store/openStore.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

const { values } = parseArgs({
	options: {
		"size-gib": { type: "string", default: "2" },
		files: { type: "string", default: "4" },
		runs: { type: "string", default: "3" },
		concurrency: { type: "string", default: "4" },
		quick: { type: "boolean", default: false },
		json: { type: "string" },
		dir: { type: "string" },
	},
});

const files = Number(values.files);
const concurrency = Number(values.concurrency);
const totalBytes = values.quick ? 64 << 20 : Math.round(Number(values["size-gib"]) * 2 ** 30);
const perFile = Math.floor(totalBytes / files / (1 << 20)) * (1 << 20);
const runs = values.quick ? 1 : Number(values.runs);
if (!(files >= 1) || !(perFile > 0) || !(runs >= 1) || !(concurrency >= 1)) throw new TypeError("--files, --size-gib, --runs and --concurrency must be positive");

/** GNU time, to read each child's CPU seconds (load on a shared machine moves wall clock far more than CPU). */
const gnuTime = spawnSync("sh", ["-c", "test -x /usr/bin/time && /usr/bin/time -f %U true"]).status === 0;
const CPU_MARK = "modelfs-bench-cpu:";

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number; cpuSeconds: number }> {
	return new Promise((resolve, reject) => {
		const t = process.hrtime.bigint();
		const [file, argv] = gnuTime ? ["/usr/bin/time", ["-f", `${CPU_MARK}%U %S`, cmd, ...args]] : [cmd, args];
		const child = spawn(file, argv, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
		let stdout = "";
		let stderr = "";
		child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
		child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
		child.on("error", reject);
		child.on("close", (code) => {
			const m = new RegExp(`${CPU_MARK}([\\d.]+) ([\\d.]+)`).exec(stderr);
			resolve({ code, stdout, stderr, seconds: Number(process.hrtime.bigint() - t) / 1e9, cpuSeconds: m ? Number(m[1]) + Number(m[2]) : Number.NaN });
		});
	});
}

const gbps = (bytes: number, seconds: number): number => bytes / seconds / 1e9;

/**
 * The store's BlobWriter alone on the same bytes, read from the page cache
 * into the pooled shared chunks ingest receives into (4 MiB reads), no
 * network: the ceiling ingest cannot pass.
 */
async function writerAlone(dir: string, files: string[]): Promise<number> {
	const { open } = await import("node:fs/promises");
	rmSync(dir, { recursive: true, force: true });
	const store = await openStore({ storeDir: dir, create: true });
	const chunks = createChunkPool();
	let bytes = 0;
	const t = process.hrtime.bigint();
	try {
		await Promise.all(
			files.map(async (path, i) => {
				const w = await createBlobWriter({ store, resumeKey: `bench-${i}` });
				const fh = await open(path, "r");
				try {
					for (;;) {
						const chunk = chunks.take();
						const { bytesRead } = await fh.read(chunk, 0, chunk.byteLength, null);
						if (bytesRead === 0) {
							chunks.give(chunk);
							break;
						}
						await w.writeShared(chunk.subarray(0, bytesRead), () => chunks.give(chunk));
						bytes += bytesRead;
					}
				} finally {
					await fh.close();
				}
				await w.commit();
			}),
		);
	} finally {
		await store.close();
		rmSync(dir, { recursive: true, force: true });
	}
	return gbps(bytes, Number(process.hrtime.bigint() - t) / 1e9);
}

async function main(): Promise<void> {
	const hasCurl = spawnSync("sh", ["-c", "command -v curl"]).status === 0;
	const work = mkdtempSync(join(values.dir ?? tmpdir(), "modelfs-bench-hub-"));
	const emu = await startHubEmulator({ dataDir: join(work, "emulator") });
	try {
		const names = Array.from({ length: files }, (_, i) => `model-${String(i + 1).padStart(5, "0")}-of-${String(files).padStart(5, "0")}.safetensors`);
		process.stderr.write(`bench: generating ${files} x ${perFile >> 20} MiB on the emulator...\n`);
		await emu.hub.commit({
			repo: "bench/hub-model",
			files: { "config.json": "{}\n", ...Object.fromEntries(names.map((n, i) => [n, { generate: { seed: `bench-${i}`, size: perFile } }])) },
		});
		// Ingest runs compiled, as `npm install` builds it (dist/), not through
		// tsx: the TypeScript loader costs CPU in every thread, hash workers included.
		process.stderr.write("bench: compiling the CLI...\n");
		const build = join(work, "build");
		const tsc = spawnSync(
			process.execPath,
			[join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", join(repoRoot, "tsconfig.json"), "--outDir", join(build, "dist"), "--sourceMap", "false"],
			{ stdio: "inherit" },
		);
		if (tsc.status !== 0) throw new Error("tsc failed");
		copyFileSync(join(repoRoot, "package.json"), join(build, "package.json"));
		symlinkSync(join(repoRoot, "node_modules"), join(build, "node_modules"));
		const cliJs = join(build, "dist", "cli.js");
		const urls = names.map((n) => `${emu.url}/bench/hub-model/resolve/main/${n}`);
		const bytes = perFile * files;
		const rows: Record<string, number[]> = {
			"curl -o (one at a time)": [],
			"curl -o, then sync the files": [],
			[`curl -Z (${concurrency} at once)`]: [],
			"modelfs ingest": [],
			"store BlobWriter alone (no network)": [],
		};
		const sources = names.map((n) => (emu.hub.file({ repo: "bench/hub-model", path: n })!.source as { path: string }).path);
		const ingestWall: number[] = [];
		/** CPU seconds per GiB of each child (the emulator's own CPU not counted). */
		const cpu: Record<string, number[]> = { curl: [], "curl -Z": [], ingest: [] };
		const perGiB = (secs: number): number => secs / (bytes / 2 ** 30);
		for (let r = 0; r < runs; r++) {
			if (hasCurl) {
				const out = join(work, "curl");
				rmSync(out, { recursive: true, force: true });
				const seq = await run("curl", ["-s", "--fail", "--create-dirs", ...urls.flatMap((u, i) => ["-o", join(out, names[i]), u])]);
				if (seq.code !== 0) throw new Error(`curl failed: ${seq.stderr}`);
				rows["curl -o (one at a time)"].push(gbps(bytes, seq.seconds));
				cpu.curl.push(perGiB(seq.cpuSeconds));
				// Ingest fsyncs every blob before it indexes it; curl does not. This
				// row adds the same durability to curl's files (coreutils sync fsyncs each).
				const sync = await run(
					"sync",
					names.map((n) => join(out, n)),
				);
				rows["curl -o, then sync the files"].push(gbps(bytes, seq.seconds + sync.seconds));
				rmSync(out, { recursive: true, force: true });
				const par = await run("curl", ["-s", "--fail", "--create-dirs", "-Z", "--parallel-max", String(concurrency), ...urls.flatMap((u, i) => ["-o", join(out, names[i]), u])]);
				if (par.code !== 0) throw new Error(`curl -Z failed: ${par.stderr}`);
				rows[`curl -Z (${concurrency} at once)`].push(gbps(bytes, par.seconds));
				cpu["curl -Z"].push(perGiB(par.cpuSeconds));
				rmSync(out, { recursive: true, force: true });
			}
			const store = join(work, "store");
			rmSync(store, { recursive: true, force: true });
			const ing = await run(process.execPath, [cliJs, "ingest", "bench/hub-model", "--store", store, "--json", "--quiet", "--concurrency", String(concurrency)], {
				HF_ENDPOINT: emu.url,
				HF_TOKEN: "",
			});
			if (ing.code !== 0) throw new Error(`modelfs ingest failed (${ing.code}): ${ing.stderr}`);
			const s = JSON.parse(ing.stdout) as { downloadedBytes: number; seconds: number };
			// The command's own clock (listing to commit), without Node and tsx start-up.
			rows["modelfs ingest"].push(gbps(s.downloadedBytes, s.seconds));
			ingestWall.push(gbps(bytes, ing.seconds));
			cpu.ingest.push(perGiB(ing.cpuSeconds));
			rmSync(store, { recursive: true, force: true });
			rows["store BlobWriter alone (no network)"].push(await writerAlone(store, sources));
		}
		const best = (xs: number[]): number => (xs.length ? Math.max(...xs) : Number.NaN);
		const curlBest = Math.max(best(rows["curl -o (one at a time)"]), best(rows[`curl -Z (${concurrency} at once)`]));
		process.stdout.write(
			`\nHub ingest over loopback: ${files} files x ${perFile >> 20} MiB, best of ${runs}, ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), load ${loadavg()[0].toFixed(1)}\n\n`,
		);
		process.stdout.write("| path | GB/s (best) | runs | ratio to best curl |\n|---|---|---|---|\n");
		for (const [name, xs] of Object.entries(rows)) {
			if (xs.length === 0) {
				process.stdout.write(`| ${name} | curl not found (apt-get install curl) | | |\n`);
				continue;
			}
			process.stdout.write(`| ${name} | ${best(xs).toFixed(2)} | ${xs.map((x) => x.toFixed(2)).join(" ")} | ${(best(xs) / curlBest).toFixed(2)} |\n`);
		}
		process.stdout.write(`\ningest wall clock incl. process start: ${ingestWall.map((x) => x.toFixed(2)).join(" ")} GB/s\n`);
		const least = (xs: number[]): number => (xs.length ? Math.min(...xs) : Number.NaN);
		if (gnuTime) {
			process.stdout.write(
				`CPU seconds per GiB (user+sys, least of ${runs}; emulator not counted): curl ${least(cpu.curl).toFixed(2)}, curl -Z ${least(cpu["curl -Z"]).toFixed(2)}, ` +
					`ingest ${least(cpu.ingest).toFixed(2)} (incl. Node start-up, compiled JS)\n`,
			);
		}
		const ratio = best(rows["modelfs ingest"]) / curlBest;
		process.stdout.write(`ratio ingest / curl: ${Number.isFinite(ratio) ? ratio.toFixed(2) : "n/a"} (goal >= 0.8)\n`);
		if (values.json) {
			writeFileSync(
				values.json,
				`${JSON.stringify({ host: hostname(), date: new Date().toISOString(), files, perFile, runs, concurrency, gbps: rows, ingestWall, cpuSecondsPerGiB: cpu, load: loadavg(), ratio }, null, 2)}\n`,
			);
		}
	} finally {
		await emu.close();
		rmSync(work, { recursive: true, force: true });
	}
}

await main();
