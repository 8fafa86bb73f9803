import { HubError, InterruptedError, stripCredentials } from "../../errors.js";
import type { RepoId } from "../../store/StoreTypes.js";
import { createConnectionPool } from "../http/createConnectionPool.js";
import { type BodySink, type HttpConnection, type HttpResponseHead, ProxyRefusedError } from "../http/HttpConnection.js";
import { TransientHubError } from "./TransientHubError.js";

/** Sent with every download request, as huggingface_hub sends its own. */
const USER_AGENT = "modelfs";

export interface CreateHubFetchParams {
	/** The repo every request is about (named in messages). */
	repo: RepoId;
	/** The revision asked for (named in RevisionNotFound messages). */
	revision: string;
	/** The endpoint, for messages. */
	hubUrl: string;
	/** Whether an access token is sent (changes what 401/403/404 mean). */
	tokenGiven: boolean;
	/** The run's signal (Ctrl-C): an abort becomes InterruptedError. */
	signal?: AbortSignal;
}

export interface RangeRequest {
	url: string;
	/** First byte. */
	start: number;
	/** One past the last byte. */
	end: number;
	/** Sent as `Authorization: Bearer`; dropped when a redirect leaves the origin. */
	accessToken?: string;
	/** What is being fetched, for messages: `org/name@<sha>:<path>`. @default the repo */
	what?: string;
	/** Aborts this request only (idle timeout, a sibling part failed). @default the run's signal */
	signal?: AbortSignal;
}

/** The body of a ranged GET, not read yet. */
export interface RangeBody {
	/** 206, or 200 when the server ignored Range and sends the whole file. */
	status: number;
	/** Body bytes announced; -1 for a chunked body. */
	length: number;
	/** Streams the body into `sink`; the connection is kept for the next request afterwards. */
	read(sink: BodySink): Promise<void>;
	/** Continues reading after the sink returned false. */
	resume(): void;
	/** Stops reading and drops the connection (read() then rejects): the caller has all it wants. */
	cancel(): void;
}

export interface HubFetch {
	/**
	 * A fetch to give @huggingface/hub for its API calls (model info, file
	 * listings) about `what` (named in messages). @default what: the repo
	 */
	apiFetch(what?: string): typeof fetch;
	/**
	 * GETs one byte range and returns its body, to be read into memory the
	 * caller gives (see HttpConnection). Every byte of a download goes this
	 * way rather than through fetch or node:http: on a 2-core node those cost
	 * five times the CPU per byte received (measured), CPU the hash workers
	 * need. Same error mapping; follows redirects (the hub sends LFS files
	 * to a CDN), sending the token only to the hub's own origin.
	 */
	openRange(req: RangeRequest): Promise<RangeBody>;
	/** Closes the idle keep-alive connections. */
	close(): void;
}

/**
 * The hub client of one ingest: a fetch wrapper for @huggingface/hub's API
 * calls and a ranged GET for the bytes, both turning every failure into a
 * HubError with a stable code, the repo named and the URL stripped of
 * credentials, at the point where the response (status, X-Error-Code,
 * Retry-After) is still visible: the library's own HubApiError drops those
 * headers. Transient failures are TransientHubError, for withRetries.
 */
export function createHubFetch(params: CreateHubFetchParams): HubFetch {
	const repoLabel = `${params.repo.type === "dataset" ? "dataset " : ""}${params.repo.name}`;

	const apiFetch =
		(what: string = repoLabel): typeof fetch =>
		async (input, init) => {
			const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
			const signals = [params.signal, init?.signal ?? undefined].filter((s): s is AbortSignal => s !== undefined);
			let res: Response;
			try {
				res = await globalThis.fetch(input, { ...init, signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0] });
			} catch (err) {
				throw params.signal?.aborted ? new InterruptedError() : networkError(err, url, what, undefined);
			}
			if (!res.ok) throw await responseError(res, url, what);
			return res;
		};

	async function responseError(res: Response, url: string, what: string): Promise<HubError> {
		const status = res.status;
		const code = res.headers.get("x-error-code");
		const requestId = res.headers.get("x-request-id") ?? undefined;
		let said = "";
		try {
			const text = (await res.text()).slice(0, 2000);
			try {
				const json = JSON.parse(text) as { error?: unknown; message?: unknown };
				said = String(json.error ?? json.message ?? "");
			} catch {
				said = text;
			}
		} catch {
			// The body is only for the message.
		}
		said = said.replace(/\s+/g, " ").trim().slice(0, 200);
		const opts = { status, url: stripCredentials(url), requestId, cause: said ? new Error(`hub said: ${said}`) : undefined };
		const tokenHint = params.tokenGiven
			? "the access token given (--token or HF_TOKEN) has no access to it: use a token of an account that does"
			: "set HF_TOKEN (or --token) to an access token of an account with access";
		if (code === "GatedRepo") {
			return new HubError(
				"HUB_GATED",
				`${repoLabel} is a gated repo: ${params.tokenGiven ? "the access token given has no access to it" : "downloading it needs an access token"} (HTTP ${status})`,
				{
					...opts,
					hint: `accept the conditions on the repo's page on the hub, then ${params.tokenGiven ? "use a token of that account" : "set HF_TOKEN (or --token) to a token of that account"}`,
				},
			);
		}
		if (code === "RepoNotFound" || (status === 404 && code === null && !/\/resolve\//.test(url))) {
			return new HubError("HUB_REPO_NOT_FOUND", `${repoLabel} not found on ${stripCredentials(params.hubUrl)} (HTTP ${status})`, {
				...opts,
				hint: `check the repo id${params.repo.type === "model" ? " (datasets need --repo-type dataset)" : ""}; if the repo is private, ${tokenHint}`,
			});
		}
		if (code === "RevisionNotFound") {
			return new HubError("HUB_REVISION_NOT_FOUND", `revision ${params.revision} not found in ${repoLabel}`, {
				...opts,
				hint: "give a branch, a tag or a full commit sha that exists (--revision)",
			});
		}
		if (code === "EntryNotFound" || status === 404) {
			return new HubError("HUB_ENTRY_NOT_FOUND", `${what}: not found on the hub (HTTP ${status}${code ? ` ${code}` : ""})`, {
				...opts,
				hint: "the repo changed while it was ingested, or the endpoint is not a Hugging Face hub; run ingest again",
			});
		}
		if (status === 401) {
			return new HubError("HUB_UNAUTHORIZED", `the hub refused ${params.tokenGiven ? "the access token" : "the request without an access token"} for ${repoLabel} (HTTP 401)`, {
				...opts,
				hint: params.tokenGiven ? "the token (--token or HF_TOKEN) is invalid or expired: create a new one" : tokenHint,
			});
		}
		if (status === 407) {
			return new HubError("HUB_PROXY", `the proxy refused ${what} (HTTP 407 Proxy Authentication Required)`, { ...opts, hint: PROXY_AUTH_HINT });
		}
		if (status === 403) {
			return new HubError("HUB_FORBIDDEN", `access to ${what} was refused (HTTP 403)`, { ...opts, hint: tokenHint });
		}
		if (status === 429) {
			const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
			return new TransientHubError("HUB_RATE_LIMITED", `the hub rate-limited ${what} (HTTP 429)`, {
				...opts,
				retryAfterMs,
				hint: "wait and run again, or use an access token (HF_TOKEN) for higher limits",
			});
		}
		if (status >= 500 || status === 408) {
			return new TransientHubError("HUB_SERVER_ERROR", `the hub failed on ${what} (HTTP ${status})`, { ...opts, hint: "the hub or a proxy is failing; run again later" });
		}
		if (status === 416) {
			return new HubError("HUB_BAD_RANGE", `the hub refused a range of ${what} (HTTP 416)`, { ...opts, hint: "the file changed on the hub; run ingest again" });
		}
		return new HubError("HUB_HTTP_ERROR", `the hub answered HTTP ${status} for ${what}`, opts);
	}

	const pool = createConnectionPool();

	async function openRange(req: RangeRequest): Promise<RangeBody> {
		const what = req.what ?? repoLabel;
		let url = new URL(req.url);
		const origin = url.origin;
		// A request's own signal already follows the run's (streamPart
		// links them); listening on the run's signal too would add one listener
		// per request in flight to it.
		const signal = req.signal ?? params.signal;
		for (let hop = 0; ; hop++) {
			const headers: Record<string, string> = { Range: `bytes=${req.start}-${req.end - 1}`, "Accept-Encoding": "identity", "User-Agent": USER_AGENT };
			if (req.accessToken && url.origin === origin) headers.Authorization = `Bearer ${req.accessToken}`;
			let conn: HttpConnection;
			let head: HttpResponseHead;
			try {
				({ conn, head } = await pool.request(url, { method: "GET", target: `${url.pathname}${url.search}`, headers }, signal));
			} catch (err) {
				throw params.signal?.aborted ? new InterruptedError() : networkError(err, url.href, what, req.signal);
			}
			const status = head.status;
			const location = head.headers.get("location");
			if (status < 200 || status >= 300) {
				let text = "";
				try {
					text = await conn.readText(4096);
					pool.release(conn);
				} catch {
					// The body is only for the message.
					conn.destroy();
				}
				if ([301, 302, 303, 307, 308].includes(status) && location && hop < 5) {
					url = new URL(location, url);
					continue;
				}
				const h = new Headers();
				for (const [k, v] of head.headers) h.set(k, v);
				throw await responseError(new Response([204, 205, 304].includes(status) ? null : text, { status, headers: h }), url.href, what);
			}
			const c = conn;
			return {
				status,
				length: head.contentLength,
				async read(sink: BodySink): Promise<void> {
					const onAbort = (): void => c.destroy(new DOMException("aborted", "AbortError"));
					if (signal?.aborted) onAbort();
					else signal?.addEventListener("abort", onAbort, { once: true });
					try {
						await c.readBody(sink);
						pool.release(c);
					} catch (err) {
						c.destroy();
						throw err;
					} finally {
						signal?.removeEventListener("abort", onAbort);
					}
				},
				resume: () => c.resume(),
				cancel: () => c.destroy(new DOMException("the body was cut short on purpose", "AbortError")),
			};
		}
	}

	return {
		apiFetch,
		openRange,
		close: () => pool.close(),
	};
}

/** Certificate checks that failed: retrying cannot help, and the fix is a CA or the endpoint. */
const TLS_VERIFY_CODES = new Set([
	"CERT_HAS_EXPIRED",
	"CERT_NOT_YET_VALID",
	"CERT_REVOKED",
	"CERT_SIGNATURE_FAILURE",
	"CERT_UNTRUSTED",
	"DEPTH_ZERO_SELF_SIGNED_CERT",
	"ERR_TLS_CERT_ALTNAME_INVALID",
	"HOSTNAME_MISMATCH",
	"SELF_SIGNED_CERT_IN_CHAIN",
	"UNABLE_TO_GET_ISSUER_CERT",
	"UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
	"UNABLE_TO_VERIFY_LEAF_SIGNATURE",
]);

const PROXY_AUTH_HINT = "the proxy wants credentials: put them in the proxy URL, HTTPS_PROXY=http://user:password@host:port (and HTTP_PROXY)";

function networkError(err: unknown, url: string, what: string, requestSignal: AbortSignal | undefined): HubError {
	if (err instanceof HubError) return err;
	if (err instanceof ProxyRefusedError) {
		const opts = { url: stripCredentials(url), status: err.status, cause: err };
		// A proxy's own 5xx (its upstream failed) may pass; a refusal does not.
		if (err.status >= 500) return new TransientHubError("HUB_PROXY", `${err.message} fetching ${what}`, { ...opts, hint: "the proxy could not reach the hub; run again later" });
		return new HubError("HUB_PROXY", `${err.message} fetching ${what}`, {
			...opts,
			hint: err.status === 407 ? PROXY_AUTH_HINT : "the proxy does not allow this host: check HTTPS_PROXY and NO_PROXY, or ask for the hub to be allowed",
		});
	}
	// undici (the hub API calls) reports a proxy's refusal as an error a few
	// causes deep, by message: "Proxy response (407) !== 200 when HTTP
	// Tunneling" (CONNECT) or "Proxy Authentication Required (407)".
	for (let c: unknown = err, depth = 0; c && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
		const m = /^Proxy response \((\d{3})\) !== 200|^Proxy Authentication Required \((407)\)/.exec(String((c as Error).message));
		if (m) return networkError(new ProxyRefusedError("in HTTPS_PROXY / HTTP_PROXY", new URL(url).host, Number(m[1] ?? m[2])), url, what, requestSignal);
	}
	const timedOut = requestSignal?.aborted && (requestSignal.reason as Error | undefined)?.name === "TimeoutError";
	// undici (fetch) wraps the socket's error as `cause`; HttpConnection passes it as is.
	const tlsCode = [(err as { code?: unknown })?.code, (err as { cause?: { code?: unknown } })?.cause?.code].find(
		(c): c is string => typeof c === "string" && TLS_VERIFY_CODES.has(c),
	);
	if (tlsCode) {
		return new HubError("HUB_TLS", `the TLS certificate of ${new URL(url).host} was not accepted (${tlsCode}) fetching ${what}`, {
			url: stripCredentials(url),
			cause: err,
			hint: "check HF_ENDPOINT; for a mirror or proxy with its own CA, point NODE_EXTRA_CA_CERTS at that CA's PEM file",
		});
	}
	const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
	const detail = String(cause?.code ?? cause?.message ?? (err as Error)?.message ?? err).replace(/\/\/[^/@\s]*@/g, "//");
	return new TransientHubError(timedOut ? "HUB_TIMEOUT" : "HUB_NETWORK", `${timedOut ? "no data for too long" : "network error"} fetching ${what} (${detail})`, {
		url: stripCredentials(url),
		cause: err,
		hint: "check the network and HF_ENDPOINT, then run again: finished files and partial downloads are kept",
	});
}

function parseRetryAfter(header: string | null): number | undefined {
	if (!header) return undefined;
	const secs = Number(header);
	if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
	const at = Date.parse(header);
	return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
