import { HubError, InterruptedError, stripCredentials } from "../../errors.js";
import type { RepoId } from "../../store/StoreTypes.js";
import { createConnectionPool } from "../http/createConnectionPool.js";
import { type BodySink, type HttpConnection, type HttpResponseHead, ProxyRefusedError } from "../http/HttpConnection.js";
import { HttpTimeoutError } from "../http/HttpTimeoutError.js";
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
	/**
	 * A connection (DNS, TCP, TLS, a proxy tunnel) not up within this long
	 * is a HUB_TIMEOUT naming the host (retried by withRetries).
	 * @default 10000
	 */
	connectTimeoutMs?: number;
	/**
	 * A request that receives no byte for this long, for its answer or in
	 * its body, is cut: a HUB_TIMEOUT naming the host (retried). Time a
	 * ranged body is paused on purpose (the writer is behind) does not count.
	 * @default 30000
	 */
	idleTimeoutMs?: number;
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
	/** Aborts this request only (a sibling part failed). @default the run's signal */
	signal?: AbortSignal;
}

/** The body of a ranged GET, not read yet. */
export interface RangeBody {
	/** 206, or 200 when the server ignored Range and sends the whole file. */
	status: number;
	/** Body bytes announced; -1 for a chunked body. */
	length: number;
	/** Where the body comes from, after redirects (a CDN). */
	url: string;
	/** The whole file's size as the server tells it: a 206's Content-Range total, a 200's Content-Length; null when not told. */
	fileSize: number | null;
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
	 * GETs only. It goes through the same client as the bytes, not Node's
	 * fetch, so that these calls too have the connect and idle timeouts, at
	 * most 5 redirects, and send the token (which the library puts in every
	 * request, also to the next page a Link header names) to the hub's own
	 * origin only. The body is read whole before it is returned, under the
	 * idle timeout; an error status is a HubError.
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
	const hubOrigin = new URL(params.hubUrl).origin;
	const connectTimeoutMs = params.connectTimeoutMs ?? 10_000;
	const idleTimeoutMs = params.idleTimeoutMs ?? 30_000;
	if (!(connectTimeoutMs > 0)) throw new TypeError("createHubFetch: `connectTimeoutMs` must be a positive number");
	if (!(idleTimeoutMs > 0)) throw new TypeError("createHubFetch: `idleTimeoutMs` must be a positive number");
	const pool = createConnectionPool({ connectTimeoutMs });

	/** The error a failed request stands for: Ctrl-C, or the failure mapped to a HubError. */
	const failed = (err: unknown, url: URL, what: string): Error => (params.signal?.aborted ? new InterruptedError() : networkError(err, url.href, what));

	/**
	 * Sends a GET and follows redirects to a 2xx head; any other answer is
	 * read (for the message) and thrown as a HubError.
	 */
	async function send(p: {
		url: URL;
		headers: Record<string, string>;
		accessToken?: string;
		what: string;
		watch: IdleWatch;
	}): Promise<{ conn: HttpConnection; head: HttpResponseHead; url: URL }> {
		let url = p.url;
		for (let hop = 0; ; hop++) {
			p.watch.host = url.host;
			const headers = { ...p.headers };
			// The hub's own origin only: not the CDN it redirects to, nor a host
			// that a (hostile) redirect or Link header names.
			if (p.accessToken && url.origin === hubOrigin) headers.Authorization = `Bearer ${p.accessToken}`;
			let conn: HttpConnection;
			let head: HttpResponseHead;
			try {
				({ conn, head } = await pool.request(url, { method: "GET", target: `${url.pathname}${url.search}`, headers }, p.watch.signal));
			} catch (err) {
				throw failed(err, url, p.what);
			}
			p.watch.touch();
			const status = head.status;
			if (status >= 200 && status < 300) return { conn, head, url };
			let text = "";
			const onAbort = (): void => conn.destroy(HttpTimeoutError.orAbort(p.watch.signal));
			p.watch.signal.addEventListener("abort", onAbort, { once: true });
			try {
				text = await conn.readText(4096);
				pool.release(conn);
			} catch {
				// The body is only for the message.
				conn.destroy();
			} finally {
				p.watch.signal.removeEventListener("abort", onAbort);
			}
			if (params.signal?.aborted) throw new InterruptedError();
			const location = head.headers.get("location");
			if (REDIRECTS.has(status) && location) {
				const next = new URL(location, url);
				if (hop + 1 > MAX_REDIRECTS) {
					throw new HubError("HUB_REDIRECT_LOOP", `${p.what}: more than ${MAX_REDIRECTS} redirects, the last from ${url.host} to ${next.host}`, {
						url: stripCredentials(url.href),
						status,
						hint: "HF_ENDPOINT (or a proxy in between) redirects in a loop: check HF_ENDPOINT",
					});
				}
				if (next.protocol !== "http:" && next.protocol !== "https:") {
					throw new HubError("HUB_BAD_RESPONSE", `${p.what}: ${url.host} redirected to a ${next.protocol} URL`, { url: stripCredentials(url.href), status });
				}
				url = next;
				continue;
			}
			const h = new Headers();
			for (const [k, v] of head.headers) h.set(k, v);
			throw await responseError(new Response([204, 205, 304].includes(status) ? null : text, { status, headers: h }), url.href, p.what);
		}
	}

	const apiFetch =
		(what: string = repoLabel): typeof fetch =>
		async (input, init) => {
			const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
			const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
			if (method !== "GET") throw new TypeError(`apiFetch: only GET is supported, not ${method}`);
			const given = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
			// send() decides where the token goes.
			const accessToken = /^Bearer\s+(\S+)$/i.exec(given.get("authorization") ?? "")?.[1];
			given.delete("authorization");
			const headers: Record<string, string> = { "User-Agent": USER_AGENT };
			given.forEach((v, k) => {
				headers[k] = v;
			});
			// Compressed answers are not decoded.
			headers["accept-encoding"] = "identity";
			const outer = init?.signal ? (params.signal ? AbortSignal.any([params.signal, init.signal]) : init.signal) : params.signal;
			const watch = watchIdle(idleTimeoutMs, url.host, outer);
			try {
				const sent = await send({ url, headers, accessToken, what, watch });
				const body = await readWhole(sent.conn, sent.url, what, watch);
				const h = new Headers();
				for (const [k, v] of sent.head.headers) h.set(k, v);
				return new Response([204, 205, 304].includes(sent.head.status) ? null : body, { status: sent.head.status, headers: h });
			} finally {
				watch.stop();
			}
		};

	/** Reads a whole API answer (JSON: small) under the idle watch. */
	async function readWhole(conn: HttpConnection, url: URL, what: string, watch: IdleWatch): Promise<Uint8Array<ArrayBuffer>> {
		const scratch = Buffer.allocUnsafe(64 * 1024);
		const pieces: Buffer[] = [];
		let total = 0;
		const onAbort = (): void => conn.destroy(HttpTimeoutError.orAbort(watch.signal));
		if (watch.signal.aborted) onAbort();
		else watch.signal.addEventListener("abort", onAbort, { once: true });
		try {
			await conn.readBody({
				memory: () => scratch,
				landed: (n) => {
					watch.touch();
					total += n;
					if (total > MAX_API_BODY) {
						throw new HubError("HUB_BAD_RESPONSE", `${what}: ${url.host} sent an answer of more than ${MAX_API_BODY / 1024 / 1024} MiB`, { url: stripCredentials(url.href) });
					}
					pieces.push(Buffer.from(scratch.subarray(0, n)));
					return true;
				},
			});
			pool.release(conn);
		} catch (err) {
			conn.destroy();
			throw failed(err, url, what);
		} finally {
			watch.signal.removeEventListener("abort", onAbort);
		}
		const whole = new Uint8Array(new ArrayBuffer(total));
		let at = 0;
		for (const piece of pieces) {
			whole.set(piece, at);
			at += piece.byteLength;
		}
		return whole;
	}

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
			? "the access token given (--token, --token-file or HF_TOKEN) has no access to it: use a token of an account that does"
			: "set HF_TOKEN (or --token-file) to an access token of an account with access";
		if (code === "GatedRepo") {
			return new HubError(
				"HUB_GATED",
				`${repoLabel} is a gated repo: ${params.tokenGiven ? "the access token given has no access to it" : "downloading it needs an access token"} (HTTP ${status})`,
				{
					...opts,
					hint: `accept the conditions on the repo's page on the hub, then ${params.tokenGiven ? "use a token of that account" : "set HF_TOKEN (or --token-file) to a token of that account"}`,
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
				hint: params.tokenGiven ? "the token (--token, --token-file or HF_TOKEN) is invalid or expired: create a new one" : tokenHint,
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

	async function openRange(req: RangeRequest): Promise<RangeBody> {
		const what = req.what ?? repoLabel;
		// A request's own signal already follows the run's (streamPart
		// links them); listening on the run's signal too would add one listener
		// per request in flight to it.
		const watch = watchIdle(idleTimeoutMs, new URL(req.url).host, req.signal ?? params.signal);
		let sent: { conn: HttpConnection; head: HttpResponseHead; url: URL };
		try {
			sent = await send({
				url: new URL(req.url),
				headers: { Range: `bytes=${req.start}-${req.end - 1}`, "Accept-Encoding": "identity", "User-Agent": USER_AGENT },
				accessToken: req.accessToken,
				what,
				watch,
			});
		} catch (err) {
			watch.stop();
			throw err;
		}
		const { conn: c, head, url } = sent;
		return {
			status: head.status,
			length: head.contentLength,
			url: url.href,
			fileSize: fileSizeOf(head),
			async read(sink: BodySink): Promise<void> {
				const onAbort = (): void => c.destroy(HttpTimeoutError.orAbort(watch.signal));
				if (watch.signal.aborted) onAbort();
				else watch.signal.addEventListener("abort", onAbort, { once: true });
				try {
					await c.readBody({
						memory: () => sink.memory(),
						landed: (n) => {
							watch.touch();
							const more = sink.landed(n);
							// Paused on purpose: the writer is behind, not the server.
							if (!more) watch.pause();
							return more;
						},
					});
					pool.release(c);
				} catch (err) {
					c.destroy();
					throw failed(err, url, what);
				} finally {
					watch.signal.removeEventListener("abort", onAbort);
					watch.stop();
				}
			},
			resume: () => {
				watch.resume();
				c.resume();
			},
			cancel: () => {
				watch.stop();
				c.destroy(new DOMException("the body was cut short on purpose", "AbortError"));
			},
		};
	}

	return {
		apiFetch,
		openRange,
		close: () => pool.close(),
	};
}

/** Redirects followed per request: the hub sends LFS files to a CDN (one hop). */
const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** An API answer larger than this is refused: tree pages and model info are far smaller. */
const MAX_API_BODY = 32 * 1024 * 1024;

/** The idle timer of one request. */
interface IdleWatch {
	/** Aborts with an HttpTimeoutError (phase `idle`) when no byte came for too long, or with the outer signal's reason. */
	readonly signal: AbortSignal;
	/** The host the request is talking to now (a redirect moves it): named in the error. */
	host: string;
	/** Bytes came. */
	touch(): void;
	/** The reader stopped on purpose: the time until resume() does not count. */
	pause(): void;
	resume(): void;
	/** Done: no more timer. */
	stop(): void;
}

/**
 * One timer per request, not one per chunk: it checks when data last came.
 * It counts from the request's start, so a server that accepts the
 * connection and never answers is cut too.
 */
function watchIdle(ms: number, host: string, outer: AbortSignal | undefined): IdleWatch {
	const c = new AbortController();
	let last = Date.now();
	let paused = false;
	const onAbort = (): void => c.abort(outer?.reason);
	const timer = setInterval(
		() => {
			if (!paused && Date.now() - last > ms) c.abort(new HttpTimeoutError("idle", w.host, ms));
		},
		Math.max(10, Math.min(ms / 4, 5000)),
	);
	// A body never read must not keep the process alive; a request in flight holds its socket.
	timer.unref();
	const w: IdleWatch = {
		signal: c.signal,
		host,
		touch: () => {
			last = Date.now();
		},
		pause: () => {
			paused = true;
		},
		resume: () => {
			paused = false;
			last = Date.now();
		},
		stop: () => {
			clearInterval(timer);
			outer?.removeEventListener("abort", onAbort);
		},
	};
	if (outer?.aborted) onAbort();
	else outer?.addEventListener("abort", onAbort, { once: true });
	return w;
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

function networkError(err: unknown, url: string, what: string): HubError {
	if (err instanceof HubError) return err;
	if (err instanceof HttpTimeoutError) {
		return new TransientHubError("HUB_TIMEOUT", `${err.message} (${err.phase} timeout) fetching ${what}`, {
			url: stripCredentials(url),
			cause: err,
			hint: "check the network and HF_ENDPOINT, then run again: finished files and partial downloads are kept",
		});
	}
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
		if (m) return networkError(new ProxyRefusedError("in HTTPS_PROXY / HTTP_PROXY", new URL(url).host, Number(m[1] ?? m[2])), url, what);
	}
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
	return new TransientHubError("HUB_NETWORK", `network error fetching ${what} (${detail})`, {
		url: stripCredentials(url),
		cause: err,
		hint: "check the network and HF_ENDPOINT, then run again: finished files and partial downloads are kept",
	});
}

function fileSizeOf(head: HttpResponseHead): number | null {
	if (head.status === 206) {
		const m = /\/(\d{1,15})\s*$/.exec(head.headers.get("content-range") ?? "");
		return m ? Number(m[1]) : null;
	}
	return head.status === 200 && head.contentLength >= 0 ? head.contentLength : null;
}

function parseRetryAfter(header: string | null): number | undefined {
	if (!header) return undefined;
	const secs = Number(header);
	if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
	const at = Date.parse(header);
	return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
