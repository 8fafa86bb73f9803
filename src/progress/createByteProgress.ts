import cliProgress from "cli-progress";
import { formatBytes } from "./formatBytes.js";

export interface CreateByteProgressParams {
	/** Shown before the bar, e.g. "import" or a file name. */
	label: string;
	/** Total bytes expected (0 when unknown: the bar shows bytes and speed only). */
	total: number;
	/** No output at all. @default false */
	quiet?: boolean;
	/** Where the bar is drawn; it is drawn only if this is a TTY. @default process.stderr */
	stream?: NodeJS.WriteStream;
}

export interface ByteProgress {
	/** Adds bytes done. */
	increment(bytes: number): void;
	/** Changes the total (more work discovered). */
	setTotal(total: number): void;
	/** Draws the final state and releases the terminal line. Safe to call twice. */
	stop(): void;
}

function formatEta(seconds: number): string {
	if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
	const s = Math.round(seconds);
	const h = Math.floor(s / 3600);
	const m = Math.floor((s % 3600) / 60);
	const r = s % 60;
	return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}` : `${m}:${String(r).padStart(2, "0")}`;
}

/**
 * A byte progress bar (bytes, bytes/s, ETA) on stderr. It prints nothing at
 * all unless the stream is a TTY and `quiet` is off, so scripts and tests
 * see clean output.
 */
export function createByteProgress(params: CreateByteProgressParams): ByteProgress {
	const stream = params.stream ?? process.stderr;
	if (params.quiet || !stream.isTTY) {
		return { increment() {}, setTotal() {}, stop() {} };
	}
	const started = Date.now();
	let done = 0;
	let total = Math.max(0, params.total);
	let stopped = false;
	const bar = new cliProgress.SingleBar(
		{
			stream,
			hideCursor: true,
			clearOnComplete: false,
			etaBuffer: 50,
			fps: 5,
			format: (_options, p) => {
				const secs = (Date.now() - started) / 1000;
				const rate = secs > 0 ? done / secs : 0;
				const frac = total > 0 ? Math.min(1, done / total) : 0;
				const width = 24;
				const filled = Math.round(frac * width);
				const barText = total > 0 ? `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ` : "";
				const eta = total > 0 && rate > 0 ? formatEta((total - done) / rate) : "--:--";
				void p;
				return `${params.label} ${barText}${formatBytes(done)}${total > 0 ? ` / ${formatBytes(total)}` : ""}  ${formatBytes(rate)}/s  ETA ${eta}`;
			},
		},
		cliProgress.Presets.legacy,
	);
	bar.start(Math.max(1, total), 0);
	return {
		increment(bytes: number) {
			if (stopped) return;
			done += bytes;
			bar.update(Math.min(done, Math.max(1, total)));
		},
		setTotal(t: number) {
			total = Math.max(0, t);
			bar.setTotal(Math.max(1, total));
		},
		stop() {
			if (stopped) return;
			stopped = true;
			bar.update(Math.min(done, Math.max(1, total)));
			bar.stop();
		},
	};
}
