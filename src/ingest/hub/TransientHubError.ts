import type { HubErrorCode, HubErrorOptions } from "../../errors.js";
import { HubError } from "../../errors.js";

/**
 * A hub or network failure worth trying again (connection reset, timeout,
 * 429, 5xx). withRetries retries these and rethrows the last one, which is
 * still a HubError for cli.ts (exit 3).
 */
export class TransientHubError extends HubError {
	/** From Retry-After, when the hub sent one. */
	readonly retryAfterMs: number | undefined;

	constructor(code: HubErrorCode, message: string, options: HubErrorOptions & { retryAfterMs?: number } = {}) {
		super(code, message, options);
		this.name = "HubError";
		this.retryAfterMs = options.retryAfterMs;
	}
}
