import { describe, expect, it } from "vitest";
import { HubError, InterruptedError } from "../../../src/errors.js";
import { TransientHubError } from "../../../src/ingest/hub/TransientHubError.js";
import { withRetries } from "../../../src/ingest/hub/withRetries.js";

describe("withRetries", () => {
	it("retries transient failures and returns the first success", async () => {
		let n = 0;
		const delays: number[] = [];
		const v = await withRetries({ baseDelayMs: 1, onRetry: (_e, _a, d) => delays.push(d) }, async () => {
			if (++n < 3) throw new TransientHubError("HUB_NETWORK", "reset");
			return "ok";
		});
		expect([v, n, delays.length]).toEqual(["ok", 3, 2]);
	});

	it("waits what Retry-After says, capped", async () => {
		const delays: number[] = [];
		let n = 0;
		await withRetries({ maxDelayMs: 30, onRetry: (_e, _a, d) => delays.push(d) }, async () => {
			if (n++ === 0) throw new TransientHubError("HUB_RATE_LIMITED", "429", { retryAfterMs: 5000 });
		});
		expect(delays).toEqual([30]);
	});

	it("gives up after the bounded number of attempts with the last error", async () => {
		let n = 0;
		await expect(
			withRetries({ attempts: 3, baseDelayMs: 1 }, async () => {
				n++;
				throw new TransientHubError("HUB_SERVER_ERROR", `500 #${n}`);
			}),
		).rejects.toThrow("500 #3");
		expect(n).toBe(3);
	});

	it("resets the count when the attempt made progress", async () => {
		let n = 0;
		await withRetries({ attempts: 2, baseDelayMs: 1, madeProgress: () => true }, async () => {
			if (++n < 5) throw new TransientHubError("HUB_NETWORK", "drop");
		});
		expect(n).toBe(5);
	});

	it("throws permanent errors at once, and InterruptedError when aborted", async () => {
		let n = 0;
		await expect(withRetries({}, async () => (n++, Promise.reject(new HubError("HUB_GATED", "gated"))))).rejects.toThrow("gated");
		expect(n).toBe(1);
		const ac = new AbortController();
		const p = withRetries({ baseDelayMs: 10_000, signal: ac.signal }, async () => {
			throw new TransientHubError("HUB_NETWORK", "reset");
		});
		setTimeout(() => ac.abort(), 10);
		await expect(p).rejects.toBeInstanceOf(InterruptedError);
	});
});
