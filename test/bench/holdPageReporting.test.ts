import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { BenchSession } from "../../bench/load/BenchSession.js";
import { holdPageReporting } from "../../bench/load/holdPageReporting.js";

// A stand-in /sys: the module parameter is a plain file here, so this runs anywhere.
function fakeSys(minFreeMs?: string): { root: string; file: string } {
	const root = mkdtempSync(join(tmpdir(), "modelfs-sys-"));
	onTestFinished(() => rmSync(root, { recursive: true, force: true }));
	const dir = join(root, "module", "page_reporting", "parameters");
	const file = join(dir, "min_free_ms");
	if (minFreeMs !== undefined) {
		mkdirSync(dir, { recursive: true });
		writeFileSync(file, minFreeMs);
	}
	return { root, file };
}

describe("holdPageReporting", () => {
	it("holds freed pages back from the host for the run and puts the old value back at cleanup", () => {
		const { root, file } = fakeSys("0\n");
		const session = new BenchSession();
		expect(holdPageReporting({ session, sysRoot: root })).toEqual({ minFreeMs: 60000, was: 0 });
		expect(readFileSync(file, "utf8")).toBe("60000\n");
		session.close();
		expect(readFileSync(file, "utf8")).toBe("0\n");
	});

	it("changes nothing where the hold is already as long, and returns null where the kernel has no such knob", () => {
		const { root, file } = fakeSys("90000\n");
		const session = new BenchSession();
		expect(holdPageReporting({ session, sysRoot: root })).toEqual({ minFreeMs: 90000, was: 90000 });
		session.close();
		expect(readFileSync(file, "utf8")).toBe("90000\n");
		expect(holdPageReporting({ session: new BenchSession(), sysRoot: fakeSys().root })).toBeNull();
	});
});
