import { connect } from "node:net";
import { join } from "node:path";
import { MountError } from "../errors.js";

export interface SendControlParams {
	/** The mount's runtime folder; its holder listens on `control.sock` there. */
	runtimeDir: string;
	/** One request line (native/HOLDER.md, "The control socket"), e.g. `status`. */
	request: string;
	/** How long to wait for the answer. @default 30000 */
	timeoutMs?: number;
	/** Connection attempts while no holder listens (one is being replaced). @default 20 */
	attempts?: number;
	/**
	 * The request may be sent again after the holder went away while it was
	 * in hand (`status`: yes; `refresh`, `restart-*`: no). @default false
	 */
	idempotent?: boolean;
}

export interface ControlReply {
	/** The holder said `ok`. */
	ok: boolean;
	/** `err <CODE> <message>`: the code, else null. */
	code: string | null;
	/** The text after `ok` or after the code. */
	message: string;
	/** `ok {json}`: the object, else null. */
	data: Record<string, unknown> | null;
}

/**
 * One request to a mount's holder over its control socket: a line out, a
 * line back. While a holder is being replaced (planned, or after a crash,
 * by the daemon) nobody may listen for a moment: it tries again, 50 ms
 * apart. Throws MOUNT_NO_CONTROL when no holder answers.
 */
export async function sendControl(params: SendControlParams): Promise<ControlReply> {
	if (typeof params?.runtimeDir !== "string" || params.runtimeDir === "") throw new TypeError("sendControl: `runtimeDir` is required");
	if (typeof params.request !== "string" || params.request.includes("\n")) throw new TypeError("sendControl: `request` must be one line");
	const path = join(params.runtimeDir, "control.sock");
	const attempts = params.attempts ?? 20;
	let last: unknown;
	for (let i = 0; i < attempts; i++) {
		try {
			const line = await exchange(path, params.request, params.timeoutMs ?? 30_000);
			return parse(line);
		} catch (err) {
			last = err;
			const code = (err as NodeJS.ErrnoException).code;
			// Refused or missing: nobody got the request; the others may have acted on it.
			const unsent = code === "ECONNREFUSED" || code === "ENOENT";
			const lost = code === "ECONNRESET" || code === "EPIPE" || code === "EMPTY";
			if (!unsent && !(lost && params.idempotent === true)) break;
			await new Promise((r) => setTimeout(r, 50));
		}
	}
	throw new MountError("MOUNT_NO_CONTROL", `the holder of the view (${path}) does not answer: ${(last as Error)?.message ?? "no answer"}`, {
		path,
		errno: (last as NodeJS.ErrnoException)?.code,
		cause: last,
		hint: "see `modelfs status`; if the view is dead, `modelfs up` (or `modelfs mount`) mounts it again",
	});
}

function exchange(path: string, request: string, timeoutMs: number): Promise<string> {
	return new Promise((resolve, reject) => {
		const sock = connect({ path });
		let buf = "";
		const timer = setTimeout(() => {
			sock.destroy();
			reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: "ETIMEDOUT" }));
		}, timeoutMs);
		sock.setEncoding("utf8");
		sock.on("connect", () => sock.write(`${request}\n`));
		sock.on("data", (d: string) => {
			buf += d;
		});
		sock.on("error", (err) => {
			clearTimeout(timer);
			reject(err);
		});
		sock.on("close", () => {
			clearTimeout(timer);
			const nl = buf.indexOf("\n");
			if (nl < 0) reject(Object.assign(new Error("the holder closed the socket without an answer"), { code: "EMPTY" }));
			else resolve(buf.slice(0, nl));
		});
	});
}

function parse(line: string): ControlReply {
	if (line.startsWith("ok")) {
		const rest = line.slice(2).trim();
		let data: Record<string, unknown> | null = null;
		if (rest.startsWith("{")) {
			try {
				data = JSON.parse(rest) as Record<string, unknown>;
			} catch {
				data = null;
			}
		}
		return { ok: true, code: null, message: rest, data };
	}
	const m = /^err (\S+) ?(.*)$/.exec(line);
	return { ok: false, code: m ? m[1] : "UNKNOWN", message: m ? m[2] : line, data: null };
}
