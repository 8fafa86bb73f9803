import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { canMount } from "../support/canMount.js";
import { repoRoot } from "../support/runCli.js";

// `npm run bench:scale` on a small store: it mounts, measures every figure
// README quotes and leaves nothing mounted or behind (its work folder is removed).
describe.runIf(canMount)("bench:scale", () => {
	it("prints every figure for a small generated store and exits 0", async () => {
		const child = spawn(process.execPath, ["--import", "tsx", "bench/scale.ts", "--repos", "5", "--files-per-repo", "10", "--no-results"], {
			cwd: repoRoot,
			stdio: ["ignore", "pipe", "pipe"],
		});
		let out = "";
		let err = "";
		child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
		child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
		const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
		expect({ code, err }).toMatchObject({ code: 0 });
		expect(out).toContain("50 files in 5 repos");
		for (const what of [
			"`modelfs mount`",
			"holder RSS",
			"daemon RSS",
			"`modelfs ls --json`",
			"`modelfs info scale/m0002`",
			"`modelfs status --json`",
			"`modelfs refresh` in place",
		])
			expect(out).toContain(what);
		expect(out).toMatch(/readdir \+ stat of \d+ entries/);
		expect(out).not.toMatch(/NaN|undefined/);
	}, 120_000);
});
