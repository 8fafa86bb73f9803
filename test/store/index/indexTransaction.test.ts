import { execFileSync } from "node:child_process";
import { closeSync, openSync, writeSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { indexTransaction } from "../../../src/store/index/indexTransaction.js";
import { hexKey } from "../../../src/store/index/StoreIndex.js";
import { openStore } from "../../../src/store/openStore.js";
import { canMount } from "../../support/canMount.js";

describe.runIf(canMount)("indexTransaction", () => {
	it("turns a commit that fails on a full disk into STORE_NO_SPACE, with no unhandled rejection", async () => {
		const mnt = await mkdtemp(join(tmpdir(), "modelfs-index-full-"));
		onTestFinished(() => rm(mnt, { recursive: true, force: true }));
		execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt]);
		onTestFinished(() => {
			// Lazy: after a failed commit lmdb-js cannot close its environment, so this process keeps the index mapped.
			execFileSync("umount", ["-l", mnt]);
		});
		const store = await openStore({ storeDir: join(mnt, "store"), create: true });
		onTestFinished(() => store.close().catch(() => undefined));
		const fd = openSync(join(mnt, "filler"), "w");
		try {
			const mib = Buffer.alloc(1 << 20);
			for (;;) writeSync(fd, mib);
		} catch (err) {
			expect((err as NodeJS.ErrnoException).code).toBe("ENOSPC");
		} finally {
			closeSync(fd);
		}
		const unhandled: unknown[] = [];
		const onUnhandled = (reason: unknown): void => {
			unhandled.push(reason);
		};
		process.on("unhandledRejection", onUnhandled);
		onTestFinished(() => {
			process.off("unhandledRejection", onUnhandled);
		});
		const index = store.index!;
		const body = (): void => {
			for (let i = 0; i < 2000; i++) {
				index.sha256.put(hexKey(i.toString(16).padStart(64, "0")), hexKey("ab".repeat(32)));
			}
		};
		await expect(indexTransaction({ store, label: "a test blob", body })).rejects.toMatchObject({
			code: "STORE_NO_SPACE",
			message: expect.stringMatching(/no space left in the store .* while writing a test blob/),
		});
		// lmdb-js rejects its commitError promise in the same turn; give a rejection left unwatched time to surface.
		await new Promise((resolve) => setTimeout(resolve, 50));
		expect(unhandled).toEqual([]);
		// The failed commit does not leave close() waiting forever.
		await store.close();
	});
});
