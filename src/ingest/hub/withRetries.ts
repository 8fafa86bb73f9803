import { InterruptedError } from "../../errors.js";
import { TransientHubError } from "./TransientHubError.js";

export interface RetryPolicy {
	/** Tries in all (the first included). @default 6 */
	attempts?: number;
	/** First backoff; doubles each time, with jitter. @default 500 */
	baseDelayMs?: number;
	/** Backoff and Retry-After cap. @default 30000 */
	maxDelayMs?: number;
}

export interface WithRetriesParams extends RetryPolicy {
	/** Stops waiting and retrying (Ctrl-C). */
	signal?: AbortSignal;
	/** Told before each wait (for a log line). */
	onRetry?: (err: TransientHubError, attempt: number, delayMs: number) => void;
	/**
	 * Called after a failure; returning true resets the attempt count (a
	 * transfer that made progress before the connection dropped).
	 */
	madeProgress?: () => boolean;
}

/**
 * Runs `fn` until it succeeds, retrying TransientHubError (resets, timeouts,
 * 429, 5xx) with exponential backoff or the hub's Retry-After, a bounded
 * number of times. Everything else is thrown at once.
 */
export async function withRetries<T>(params: WithRetriesParams, fn: (attempt: number) => Promise<T>): Promise<T> {
	const attempts = params.attempts ?? 6;
	const base = params.baseDelayMs ?? 500;
	const max = params.maxDelayMs ?? 30_000;
	if (!Number.isInteger(attempts) || attempts < 1) throw new TypeError("withRetries: `attempts` must be a positive integer");
	let failures = 0;
	for (let attempt = 1; ; attempt++) {
		try {
			return await fn(attempt);
		} catch (err) {
			if (params.signal?.aborted) throw new InterruptedError();
			if (!(err instanceof TransientHubError)) throw err;
			failures = params.madeProgress?.() ? 1 : failures + 1;
			if (failures >= attempts) throw err;
			const backoff = Math.min(max, base * 2 ** (failures - 1)) * (0.5 + Math.random() / 2);
			const delay = Math.min(max, err.retryAfterMs ?? backoff);
			params.onRetry?.(err, attempt, delay);
			await sleep(delay, params.signal);
		}
	}
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve, reject) => {
		if (signal?.aborted) return reject(new InterruptedError());
		const t = setTimeout(() => {
			signal?.removeEventListener("abort", onAbort);
			resolve();
		}, ms);
		const onAbort = (): void => {
			clearTimeout(t);
			reject(new InterruptedError());
		};
		signal?.addEventListener("abort", onAbort, { once: true });
	});
}
