import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readCatalog } from "../../src/store/catalog/readCatalog.js";
import { bytes, tempDir, writeHubCache } from "../overlay/fixtures.js";
import { runCli } from "../support/runCli.js";

/** Every object file under <store>/objects. */
function objects(storeDir: string): string[] {
	const out: string[] = [];
	const root = join(storeDir, "objects");
	for (const d of readdirSync(root, { withFileTypes: true })) if (d.isDirectory()) for (const f of readdirSync(join(root, d.name))) out.push(`${d.name}/${f}`);
	return out;
}

function hostileCache() {
	const root = realpathSync(tempDir("modelfs-hostile-"));
	const cache = join(root, "hub");
	const outside = join(root, "secret");
	mkdirSync(outside);
	writeFileSync(join(outside, "shadow"), "root:$6$secret\n", { mode: 0o600 });
	const commit = writeHubCache({ dir: cache, repo: "org/good", files: [{ path: "model.safetensors", bytes: bytes("good", 4096) }] });
	const snap = join(cache, "models--org--good", "snapshots", commit);
	symlinkSync(join(outside, "shadow"), join(snap, "leak.txt"));
	symlinkSync(outside, join(snap, "etc"));
	symlinkSync("loop-b", join(snap, "loop-a"));
	symlinkSync("loop-a", join(snap, "loop-b"));
	execFileSync("mkfifo", [join(snap, "pipe")]);
	// A second repo with a ref that is not a commit: reported and skipped, the good one still lands.
	writeHubCache({ dir: cache, repo: "org/badref", files: [{ path: "a.bin", bytes: bytes("bad", 100) }] });
	writeFileSync(join(cache, "models--org--badref", "refs", "main"), "../../../../etc/passwd\n");
	return { root, cache, outside, commit, storeDir: join(root, "store") };
}

describe("import of a hostile cache", () => {
	it("takes only files inside the repo's blobs/, reports links out of the cache, to folders, loops and fifos by path, and a bad ref does not stop the rest", async () => {
		const h = hostileCache();
		const out = await runCli(["import", h.cache, "--store", h.storeDir]);
		const said = out.stdout + out.stderr;
		expect(said).toContain(`${join(h.cache, "models--org--good", "snapshots", h.commit, "leak.txt")}: outside-cache`);
		expect(said).toMatch(/etc: (outside-cache|not-a-file)/);
		expect(said).toMatch(/loop-a: symlink-loop/);
		expect(said).toMatch(/pipe: not-a-file/);
		expect(said).toMatch(/badref.*invalid-ref|invalid-ref.*badref/s);
		const catalog = (await readCatalog({ storeDir: h.storeDir }))!;
		const good = catalog.repos.find((r) => r.name === "org/good")!;
		expect(good.snapshots[0].files.map((f) => f.path)).toEqual(["model.safetensors"]);
		// Only the one good blob was stored: nothing of the secret folder.
		expect(objects(h.storeDir)).toHaveLength(catalog.repos.flatMap((r) => r.snapshots.flatMap((s) => s.files)).length);
	});

	it("import --as on a plain folder refuses a link out of that folder", async () => {
		const root = realpathSync(tempDir("modelfs-hostile-as-"));
		const folder = join(root, "model");
		mkdirSync(folder);
		writeFileSync(join(folder, "config.json"), "{}");
		writeFileSync(join(root, "private.key"), "secret", { mode: 0o600 });
		symlinkSync(join(root, "private.key"), join(folder, "key"));
		const storeDir = join(root, "store");
		const out = await runCli(["import", folder, "--as", "org/plain", "--store", storeDir]);
		expect(out.stdout + out.stderr).toContain(`${join(folder, "key")}: outside-cache`);
		const catalog = (await readCatalog({ storeDir }))!;
		expect(catalog.repos[0].snapshots[0].files.map((f) => f.path)).toEqual(["config.json"]);
	});
});

describe("mount of a store of another format", () => {
	it("refuses a store whose modelfs.json names a newer format or is not JSON, before mounting anything", async () => {
		const root = realpathSync(tempDir("modelfs-format-"));
		const storeDir = join(root, "store");
		expect((await runCli(["init", "--store", storeDir])).code).toBe(0);
		const mnt = join(root, "view");
		mkdirSync(mnt);
		writeFileSync(join(storeDir, "modelfs.json"), '{"format": 99}');
		const newer = await runCli(["mount", mnt, "--store", storeDir]);
		expect(newer.code).not.toBe(0);
		expect(newer.stderr).toContain("has format 99, newer than this modelfs understands");
		writeFileSync(join(storeDir, "modelfs.json"), "not json");
		const broken = await runCli(["mount", mnt, "--store", storeDir]);
		expect(broken.code).not.toBe(0);
		expect(broken.stderr).toContain("modelfs.json is not valid JSON");
		expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(` ${mnt} `);
	});
});
