/**
 * A request to `host` that timed out: the TCP (and TLS, or proxy tunnel)
 * connection was not up within `ms`, or no byte of the answer came for `ms`.
 * The hub client turns it into a HUB_TIMEOUT naming the host and the phase;
 * it is its own class so that mapping branches on a type, not a message.
 */
export class HttpTimeoutError extends Error {
	/** `connect`: no connection within `ms`; `idle`: connected, but no byte came for `ms`. */
	readonly phase: "connect" | "idle";
	/** `host:port` as the URL names it. */
	readonly host: string;
	readonly ms: number;

	constructor(phase: "connect" | "idle", host: string, ms: number) {
		super(phase === "connect" ? `could not connect to ${host} within ${formatSeconds(ms)}` : `no bytes from ${host} for ${formatSeconds(ms)}`);
		this.name = "TimeoutError";
		this.phase = phase;
		this.host = host;
		this.ms = ms;
	}

	/**
	 * What a request cut by `signal` fails with: its reason when that is a
	 * timeout (so the message names the host and the phase), else an
	 * AbortError (the caller knows why it aborted).
	 */
	static orAbort(signal: AbortSignal | undefined): Error {
		return signal?.reason instanceof HttpTimeoutError ? signal.reason : new DOMException("aborted", "AbortError");
	}
}

/** `10 s`, or `0.3 s` for the short timeouts tests set. */
function formatSeconds(ms: number): string {
	return `${Number((ms / 1000).toFixed(3))} s`;
}
