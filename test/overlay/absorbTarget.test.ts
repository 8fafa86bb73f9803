import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { absorbTarget } from "../../src/overlay/absorbTarget.js";
import { overlayUp } from "../../src/overlay/overlayUp.js";
import { canMount } from "../support/canMount.js";
import { bytes, tempDir, treeDigest, writeHubCache } from "./fixtures.js";
import { addRepoToStore } from "./makeStore.js";
import { setup as setupOverlay } from "./overlaySetup.js";

const FILES = [
	{ path: "config.json", bytes: Buffer.from('{"x":1}') },
	{ path: "model.safetensors", bytes: bytes("weights", 2 << 20) },
	{ path: "sub/extra.bin", bytes: bytes("extra", 300_000) },
];

async function setup() {
	const root = realpathSync(tempDir());
	const storeDir = join(root, "store");
	const commit = await addRepoToStore({ storeDir, repo: "org/m", files: FILES });
	// The lower stands for the view of that store: same paths, same bytes.
	return { storeDir, ...setupOverlay({ root, repo: "org/m", files: FILES, commit }) };
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe.runIf(canMount)("absorbTarget", () => {
	it("removes from upper the old local copies the view already serves and reports the bytes freed", async () => {
		const { storeDir, lower, target, stateDir, commit } = await setup();
		// The backend's cache held its own copy of the model, plus a file the store does not have.
		writeHubCache({ dir: target, repo: "org/m", files: FILES, commit });
		writeFileSync(join(target, "models--org--m", "blobs", "local-only"), bytes("mine", 5000));
		const before = treeDigest(target);
		const up = await overlayUp({ target, lower, anyLower: true, stateDir });
		const dry = await absorbTarget({ target, storeDir, stateDir, dryRun: true });
		expect(dry.freedBytes).toBe(FILES.reduce((n, f) => n + f.bytes.length, 0));
		expect(statSync(join(up.upper, "models--org--m", "blobs", sha256(FILES[1].bytes))).size).toBe(2 << 20);

		const r = await absorbTarget({ target, storeDir, stateDir });
		expect(r.mode).toBe("overlay");
		expect(r.freedBytes).toBe(FILES.reduce((n, f) => n + f.bytes.length, 0));
		expect(r.keptBack).toEqual([]);
		// Gone from upper...
		for (const f of FILES) expect(() => lstatSync(join(up.upper, "models--org--m", "blobs", sha256(f.bytes)))).toThrow();
		// ...the local-only file stays, and the folder still shows exactly what it did.
		expect(statSync(join(up.upper, "models--org--m", "blobs", "local-only")).size).toBe(5000);
		expect(treeDigest(target)).toEqual(before);
		expect(lstatSync(target).isDirectory()).toBe(true);
		// A second run finds nothing more.
		expect((await absorbTarget({ target, storeDir, stateDir })).freedBytes).toBe(0);
	});

	it("keeps a local file whose content differs from the view's at the same path", async () => {
		const { storeDir, lower, target, stateDir, commit } = await setup();
		const up = await overlayUp({ target, lower, anyLower: true, stateDir });
		// Writing through the snapshot symlink copies the blob up and changes it: same name, other bytes.
		writeFileSync(join(target, "models--org--m", "snapshots", commit, "config.json"), '{"x":2}');
		const r = await absorbTarget({ target, storeDir, stateDir });
		expect(r.absorbed).toEqual([]);
		expect(readFileSync(join(up.upper, "models--org--m", "blobs", sha256(FILES[0].bytes)), "utf8")).toBe('{"x":2}');
		expect(readFileSync(join(target, "models--org--m", "snapshots", commit, "config.json"), "utf8")).toBe('{"x":2}');
	});

	it("puts back copies the view cannot show through an opaque folder, so nothing disappears", async () => {
		const { storeDir, lower, target, stateDir } = await setup();
		await overlayUp({ target, lower, anyLower: true, stateDir });
		// Delete and recreate the blobs folder through the overlay: upper's blobs/ becomes opaque.
		const blobs = join(target, "models--org--m", "blobs");
		const saved = FILES.map((f) => ({ name: sha256(f.bytes), bytes: readFileSync(join(blobs, sha256(f.bytes))) }));
		rmSync(blobs, { recursive: true });
		mkdirSync(blobs);
		for (const f of saved) writeFileSync(join(blobs, f.name), f.bytes);
		const before = treeDigest(target);
		const r = await absorbTarget({ target, storeDir, stateDir });
		expect(r.keptBack.length).toBe(FILES.length);
		expect(r.freedBytes).toBe(0);
		expect(treeDigest(target)).toEqual(before);
	});

	it("replaces duplicates in a plain HF cache folder by symlinks into the view", async () => {
		const { storeDir, lower, target, commit } = await setup();
		writeHubCache({ dir: target, repo: "org/m", files: FILES, commit });
		const r = await absorbTarget({ target, storeDir, lower });
		expect(r.mode).toBe("plain");
		expect(r.freedBytes).toBe(FILES.reduce((n, f) => n + f.bytes.length, 0));
		const blob = join(target, "models--org--m", "blobs", sha256(FILES[1].bytes));
		expect(readlinkSync(blob)).toBe(join(lower, "models--org--m", "blobs", sha256(FILES[1].bytes)));
		expect(readFileSync(join(target, "models--org--m", "snapshots", commit, "model.safetensors")).equals(FILES[1].bytes)).toBe(true);
	});

	it("asks for the view when the folder has no overlay", async () => {
		const { storeDir, target } = await setup();
		await expect(absorbTarget({ target, storeDir })).rejects.toMatchObject({ code: "ABSORB_NO_VIEW" });
	});
});
