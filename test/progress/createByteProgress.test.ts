import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createByteProgress } from "../../src/progress/createByteProgress.js";
import { formatBytes } from "../../src/progress/formatBytes.js";

/** A stream that claims to be a terminal and records what is drawn on it. */
function fakeTty(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
	const s = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
	let out = "";
	s.on("data", (d: Buffer) => (out += d.toString()));
	Object.assign(s, { isTTY, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
	return { stream: s, text: () => out };
}

describe("createByteProgress", () => {
	it("prints nothing when the stream is not a TTY, or with quiet", () => {
		for (const [isTTY, quiet] of [
			[false, false],
			[true, true],
		] as const) {
			const t = fakeTty(isTTY);
			const p = createByteProgress({ label: "import", total: 1000, quiet, stream: t.stream });
			p.increment(500);
			p.stop();
			expect(t.text()).toBe("");
		}
	});

	it("draws bytes, total, speed and ETA on a TTY", async () => {
		const t = fakeTty(true);
		const p = createByteProgress({ label: "verify", total: 4 << 20, stream: t.stream });
		p.increment(1 << 20);
		await new Promise((r) => setTimeout(r, 50));
		p.increment(1 << 20);
		p.stop();
		p.stop();
		expect(t.text()).toMatch(/verify \[#+-*\]\s+50% 2\.0 MiB \/ 4\.0 MiB\s+[\d.]+ [KMG]?i?B\/s\s+ETA \d+:\d\d/);
	});
});

describe("formatBytes", () => {
	it("uses binary units", () => {
		expect(formatBytes(0)).toBe("0 B");
		expect(formatBytes(1536)).toBe("1.5 KiB");
		expect(formatBytes(3 * 2 ** 30)).toBe("3.0 GiB");
	});
});
