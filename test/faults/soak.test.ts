import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { listModelfsMounts } from "../../src/mount/listModelfsMounts.js";
import { bytes, tempDir } from "../overlay/fixtures.js";
import { addRepoToStore } from "../overlay/makeStore.js";
import { mountTestView } from "../overlay/mountTestView.js";
import { canMount } from "../support/canMount.js";

const SECONDS = Number(process.env.MODELFS_SOAK_SECONDS ?? 60);
const READERS = 8;
const FILES = [
	{ path: "config.json", bytes: Buffer.from('{"architectures":["Soak"]}\n') },
	{ path: "tokenizer.json", bytes: bytes("tok", 300_000) },
	...Array.from({ length: 4 }, (_, i) => ({ path: `model-0000${i + 1}-of-00004.safetensors`, bytes: bytes(`soak-${i}`, (8 << 20) + i * 4099) })),
];

/**
 * One backend-like reader, in its own mount namespace as a container is:
 * until `seconds` pass it lists the snapshot, stats every file, and reads
 * files whole or 1 MiB chunks of them, checking every byte against the digests
 * it was given. Prints {reads, bytes, errors} as JSON.
 */
const READER = `
const fs = require("node:fs"), crypto = require("node:crypto"), path = require("node:path");
const [dir, seconds, want] = [process.argv[1], Number(process.argv[2]), JSON.parse(fs.readFileSync(process.argv[3], "utf8"))];
const end = Date.now() + seconds * 1000, CHUNK = 1 << 20;
let reads = 0, bytes = 0; const errors = [];
while (Date.now() < end && errors.length < 5) {
	try {
		const names = fs.readdirSync(dir).sort();
		if (names.join() !== Object.keys(want).sort().join()) throw new Error("listing: " + names.join());
		for (const n of names) if (fs.statSync(path.join(dir, n)).size !== want[n].size) throw new Error("size of " + n);
		const n = names[Math.floor(Math.random() * names.length)];
		if (Math.random() < 0.5) {
			const b = fs.readFileSync(path.join(dir, n));
			if (crypto.createHash("sha256").update(b).digest("hex") !== want[n].sha256) throw new Error("bytes of " + n);
			bytes += b.length;
		} else {
			const fd = fs.openSync(path.join(dir, n), "r");
			try {
				const i = Math.floor(Math.random() * want[n].chunks.length), off = i * CHUNK, len = Math.min(CHUNK, want[n].size - off);
				const b = Buffer.alloc(len); const got = fs.readSync(fd, b, 0, len, off);
				if (got !== len || crypto.createHash("sha256").update(b).digest("hex") !== want[n].chunks[i]) throw new Error("bytes " + off + "+" + len + " of " + n);
				bytes += got;
			} finally { fs.closeSync(fd); }
		}
		reads++;
	} catch (e) { errors.push(String(e && e.message || e)); }
}
process.stdout.write(JSON.stringify({ reads, bytes, errors }));
`;

function rssKiB(pid: number): number {
	const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
	return m ? Number(m[1]) : 0;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe.runIf(canMount)("soak", () => {
	for (const passthrough of [false, true]) {
		it(
			`${READERS} readers in their own mount namespaces for ${SECONDS} s, ${passthrough ? "passthrough" : "daemon-served reads"}: no error, daemon and holder memory flat`,
			async () => {
				const root = realpathSync(tempDir("modelfs-soak-"));
				const storeDir = join(root, "store");
				const commit = await addRepoToStore({ storeDir, repo: "org/soak", files: FILES });
				const { mountpoint, runRoot } = await mountTestView({ root, storeDir, passthrough });
				const mount = (await listModelfsMounts({ runRoot })).find((m) => m.mountpoint === mountpoint)!;
				const pids = { daemon: mount.daemonPid!, holder: mount.holderPid! };
				const wantFile = join(root, "want.json");
				const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
				const want: Record<string, { size: number; sha256: string; chunks: string[] }> = {};
				for (const f of FILES) {
					const chunks: string[] = [];
					for (let off = 0; off < f.bytes.length; off += 1 << 20) chunks.push(sha256(f.bytes.subarray(off, off + (1 << 20))));
					want[f.path] = { size: f.bytes.length, sha256: sha256(f.bytes), chunks };
				}
				writeFileSync(wantFile, JSON.stringify(want));
				const snapshot = join(mountpoint, "models--org--soak", "snapshots", commit);

				const samples: Array<{ t: number; daemon: number; holder: number }> = [];
				const t0 = Date.now();
				const sampler = setInterval(() => samples.push({ t: (Date.now() - t0) / 1000, daemon: rssKiB(pids.daemon), holder: rssKiB(pids.holder) }), 1000);
				onTestFinished(() => clearInterval(sampler));
				const readers = Array.from({ length: READERS }, () => {
					const child = spawn("unshare", ["-m", "--propagation", "private", process.execPath, "-e", READER, snapshot, String(SECONDS), wantFile], {
						stdio: ["ignore", "pipe", "pipe"],
					});
					onTestFinished(() => {
						if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
					});
					let out = "";
					let err = "";
					child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
					child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
					return new Promise<{ reads: number; bytes: number; errors: string[] }>((resolve, reject) =>
						child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`reader exited ${code}: ${err}`)))),
					);
				});
				const results = await Promise.all(readers);
				clearInterval(sampler);

				for (const r of results) expect(r.errors).toEqual([]);
				for (const r of results) expect(r.reads).toBeGreaterThan(10);
				// Both processes lived through it.
				expect(rssKiB(pids.daemon)).toBeGreaterThan(0);
				expect(rssKiB(pids.holder)).toBeGreaterThan(0);
				// Flat: the last third of the run holds no more than the second third, give or take 2 MiB or 10%.
				const third = Math.floor(samples.length / 3);
				const summary: Record<string, { start: number; middle: number; end: number; max: number }> = {};
				for (const who of ["daemon", "holder"] as const) {
					const xs = samples.map((s) => s[who]);
					const middle = median(xs.slice(third, 2 * third));
					const end = median(xs.slice(2 * third));
					summary[who] = { start: xs[0], middle, end, max: Math.max(...xs) };
					expect(end, `${who} RSS grew: ${JSON.stringify(xs)}`).toBeLessThanOrEqual(Math.max(middle + 2048, middle * 1.1));
				}
				const total = results.reduce((a, r) => ({ reads: a.reads + r.reads, bytes: a.bytes + r.bytes }), { reads: 0, bytes: 0 });
				// The figures for the record (the note reports them).
				const line = `soak ${passthrough ? "passthrough" : "daemon-served"}: ${total.reads} reads, ${(total.bytes / 2 ** 30).toFixed(1)} GiB in ${SECONDS} s by ${READERS} readers; RSS KiB ${JSON.stringify(summary)}`;
				writeFileSync(join(tmpdir(), `modelfs-soak-${passthrough ? "passthrough" : "daemon"}.txt`), `${line}\n${JSON.stringify(samples)}\n`);
				console.log(line);
			},
			(SECONDS + 60) * 1000,
		);
	}
});
