import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { importFolder } from "../../../src/ingest/local/importFolder.js";
import { readCatalog } from "../../../src/store/catalog/readCatalog.js";
import { newStore, tempDir } from "../../store/storeFixtures.js";
import { fixtureBytes, gitSha1, sha256 } from "./importFixtures.js";

function folder(): string {
	const dir = tempDir();
	writeFileSync(join(dir, "config.json"), "{}");
	writeFileSync(join(dir, "model.safetensors"), fixtureBytes(1 << 20, 3));
	mkdirSync(join(dir, "sub"));
	writeFileSync(join(dir, "sub", "notes.txt"), "hello");
	mkdirSync(join(dir, ".git"));
	writeFileSync(join(dir, ".git", "HEAD"), "ref: refs/heads/main");
	return dir;
}

describe("importFolder", () => {
	it("imports a plain folder with hub-style etags and a stable content revision", async () => {
		const store = await newStore();
		const dir = folder();
		const r1 = await importFolder({ store, path: dir, repo: { type: "model", name: "me/local" } });
		const r2 = await importFolder({ store, path: dir, repo: { type: "model", name: "me/local" } });
		const commit = r1.repos[0].snapshots[0].commit;
		expect(commit).toMatch(/^[0-9a-f]{40}$/);
		expect(r2.repos[0].snapshots[0].commit).toBe(commit);
		expect(r2.bytesCopied).toBe(0);
		const cat = await readCatalog({ storeDir: store.dir });
		expect(cat!.repos[0].refs).toEqual({ main: commit });
		const etags = Object.fromEntries(cat!.repos[0].snapshots[0].files.map((f) => [f.path, f.etag]));
		expect(etags).toEqual({
			"config.json": gitSha1(Buffer.from("{}")),
			"model.safetensors": sha256(fixtureBytes(1 << 20, 3)),
			"sub/notes.txt": gitSha1(Buffer.from("hello")),
		});
	});

	it("uses the given revision and points main at it", async () => {
		const store = await newStore();
		const r = await importFolder({ store, path: folder(), repo: { type: "model", name: "me/local" }, revision: "v1.0" });
		expect(r.repos[0]).toMatchObject({ refs: { main: "v1.0" }, snapshots: [{ commit: "v1.0", files: 3 }] });
	});

	it("refuses a missing folder, a file, an empty folder and a bad repo id", async () => {
		const store = await newStore();
		const dir = tempDir();
		await expect(importFolder({ store, path: join(dir, "nope"), repo: { type: "model", name: "a/b" } })).rejects.toMatchObject({ code: "IMPORT_PATH_NOT_FOUND" });
		writeFileSync(join(dir, "f"), "x");
		await expect(importFolder({ store, path: join(dir, "f"), repo: { type: "model", name: "a/b" } })).rejects.toMatchObject({ code: "IMPORT_NOT_A_FOLDER" });
		mkdirSync(join(dir, "empty"));
		await expect(importFolder({ store, path: join(dir, "empty"), repo: { type: "model", name: "a/b" } })).rejects.toMatchObject({ code: "IMPORT_EMPTY" });
		await expect(importFolder({ store, path: folder(), repo: { type: "model", name: "../b" } })).rejects.toMatchObject({ code: "REPO_ID_INVALID" });
	});
});
