import type { Readable } from "node:stream";

/**
 * Reads the one status line a child writes on its ready pipe (the holder's
 * `ok <pid>` / `err ...`, the metrics process's `ok <port>`): the line
 * without its newline, or null if the pipe closed or `timeoutMs` passed first.
 */
export function readReadyLine(stream: Readable, timeoutMs: number): Promise<string | null> {
	return new Promise((res) => {
		let buf = "";
		const done = (line: string | null) => {
			clearTimeout(timer);
			stream.removeAllListeners();
			stream.on("error", () => {});
			stream.destroy();
			res(line);
		};
		const timer = setTimeout(() => done(null), timeoutMs);
		stream.setEncoding("utf8");
		stream.on("data", (d: string) => {
			buf += d;
			const nl = buf.indexOf("\n");
			if (nl >= 0) done(buf.slice(0, nl));
		});
		stream.on("end", () => done(buf === "" ? null : buf));
		stream.on("error", () => done(null));
	});
}
