import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import { openStore } from "../../src/store/openStore.js";
import type { Store } from "../../src/store/Store.js";

/** A fresh temp dir, removed when the test ends. */
export function tempDir(prefix = "modelfs-test-"): string {
	const dir = mkdtempSync(join(tmpdir(), prefix));
	onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
	return dir;
}

/** A new store open for writing, closed (then removed) when the test ends. */
export async function newStore(): Promise<Store> {
	const dir = tempDir();
	const store = await openStore({ storeDir: join(dir, "store"), create: true });
	onTestFinished(() => store.close());
	return store;
}
