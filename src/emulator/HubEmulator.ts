import { createCipheriv, createHash } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { open, rm, stat } from "node:fs/promises";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { EmulatorCommit, EmulatorContent, EmulatorFault, EmulatorFile, EmulatorFileSpec, EmulatorRepo, EmulatorRepoType, EmulatorRequestRecord } from "./EmulatorTypes.js";

const LFS_EXTENSIONS = /\.(safetensors|bin|pt|pth|ckpt|gguf|ggml|onnx|h5|msgpack|model|parquet|arrow|npy|npz|tflite|ot|zst|gz|tar)$/i;
const LFS_SIZE = 10 * 1024 * 1024;
const READ_CHUNK = 1024 * 1024;

export interface AddRepoParams {
	name: string;
	/** @default "model" */
	type?: EmulatorRepoType;
	/** @default false */
	gated?: boolean;
	/** @default false */
	private?: boolean;
	/** Tokens that may read it when gated or private. @default [] */
	tokens?: string[];
}

export interface CommitParams {
	/** The repo name (`org/name`); created (public) if it does not exist. */
	repo: string;
	/** @default "model" */
	type?: EmulatorRepoType;
	/**
	 * Files to add or replace (path -> content or spec); `null` deletes a path.
	 * Paths are taken as given, so a test can serve hostile names such as `../x`.
	 */
	files: Record<string, EmulatorContent | EmulatorFileSpec | null>;
	/** Branch to create the commit on; it moves to the new commit. @default "main" */
	ref?: string;
	/** Start from this commit's files instead of the ref's head; `null` starts empty. */
	base?: string | null;
	/** @default "update" */
	message?: string;
}

interface ActiveFault extends EmulatorFault {
	id: number;
	remaining: number;
}

interface RouteMatch {
	route: "info" | "tree" | "resolve";
	repo: EmulatorRepo | null;
	type: EmulatorRepoType;
	/** The name as requested (for messages when the repo is unknown). */
	name: string;
	rest: string[];
}

/**
 * The emulator's state and request handling. Built by startHubEmulator,
 * which owns the HTTP server; tests add repos and commits and set faults at
 * run time through this object.
 */
export class HubEmulator {
	readonly repos = new Map<string, EmulatorRepo>();
	readonly requests: EmulatorRequestRecord[] = [];
	/** `<type>:<name>/<path>` -> body bytes written for that file (resolve routes). */
	readonly served = new Map<string, number>();
	/** Tree pages hold this many entries (small values exercise pagination). */
	treePageSize: number;
	/** http://127.0.0.1:<port>, set once listening. */
	url = "";
	server: Server | null = null;
	private faults: ActiveFault[] = [];
	private nextFaultId = 1;
	private commitCounter = 0;
	private generated = new Map<string, Promise<{ path: string; sha256: string; sha1: string; size: number }>>();
	private readonly dataDir: string;

	constructor(params: { dataDir: string; treePageSize: number }) {
		this.dataDir = params.dataDir;
		this.treePageSize = params.treePageSize;
	}

	/** Declares a repo (or changes its access settings). */
	addRepo(params: AddRepoParams): EmulatorRepo {
		if (typeof params.name !== "string" || params.name === "") throw new TypeError("addRepo: `name` is required");
		const type = params.type ?? "model";
		const key = `${type}:${params.name}`;
		let repo = this.repos.get(key);
		if (!repo) {
			repo = { type, name: params.name, gated: false, private: false, tokens: [], commits: new Map(), refs: new Map() };
			this.repos.set(key, repo);
		}
		if (params.gated !== undefined) repo.gated = params.gated;
		if (params.private !== undefined) repo.private = params.private;
		if (params.tokens !== undefined) repo.tokens = [...params.tokens];
		return repo;
	}

	/** Adds a commit on a branch (the branch moves) and returns its 40-hex sha. */
	async commit(params: CommitParams): Promise<string> {
		const type = params.type ?? "model";
		const repo = this.repos.get(`${type}:${params.repo}`) ?? this.addRepo({ name: params.repo, type });
		const ref = params.ref ?? "main";
		const baseSha = params.base === undefined ? (repo.refs.get(ref) ?? null) : params.base;
		const base = baseSha === null ? null : repo.commits.get(baseSha);
		if (baseSha !== null && !base) throw new TypeError(`commit: unknown base commit ${baseSha} in ${params.repo}`);
		const files = new Map(base?.files ?? []);
		for (const [path, spec] of Object.entries(params.files)) {
			if (spec === null) {
				files.delete(path);
				continue;
			}
			files.set(path, await this.makeFile(path, spec));
		}
		this.commitCounter += 1;
		const h = createHash("sha1");
		h.update(`${repo.type}\0${repo.name}\0${baseSha ?? ""}\0${this.commitCounter}\0${params.message ?? ""}\0`);
		for (const f of [...files.values()].sort((a, b) => (a.path < b.path ? -1 : 1))) h.update(`${f.path}\0${f.oid}\0`);
		const sha = h.digest("hex");
		repo.commits.set(sha, { sha, parent: baseSha, message: params.message ?? "update", files });
		repo.refs.set(ref, sha);
		return sha;
	}

	/** Points a branch or tag at a commit. */
	setRef(params: { repo: string; type?: EmulatorRepoType; ref: string; commit: string }): void {
		const repo = this.mustRepo(params.repo, params.type);
		if (!repo.commits.has(params.commit)) throw new TypeError(`setRef: unknown commit ${params.commit}`);
		repo.refs.set(params.ref, params.commit);
	}

	/** The file record of `path` at `revision` (branch, tag or sha), or null. */
	file(params: { repo: string; type?: EmulatorRepoType; path: string; revision?: string }): EmulatorFile | null {
		const repo = this.mustRepo(params.repo, params.type);
		const commit = this.resolveRevision(repo, params.revision ?? "main");
		return commit?.files.get(params.path) ?? null;
	}

	/** The bytes of `path` at `revision` (tests compare what ingest stored with them). */
	async content(params: { repo: string; type?: EmulatorRepoType; path: string; revision?: string }): Promise<Buffer> {
		const file = this.file(params);
		if (!file) throw new TypeError(`content: no ${params.path} in ${params.repo}`);
		if (file.source.kind === "memory") return file.source.data;
		const fh = await open(file.source.path, "r");
		try {
			const buf = Buffer.alloc(file.size);
			await fh.read(buf, 0, file.size, 0);
			return buf;
		} finally {
			await fh.close();
		}
	}

	/** Adds a fault; returns its id for clearFault. */
	setFault(fault: EmulatorFault): number {
		const id = this.nextFaultId++;
		this.faults.push({ ...fault, id, remaining: fault.times ?? Number.POSITIVE_INFINITY });
		return id;
	}

	clearFault(id: number): void {
		this.faults = this.faults.filter((f) => f.id !== id);
	}

	clearFaults(): void {
		this.faults = [];
	}

	/** Body bytes written for one file of one repo (all requests, all ranges). */
	bytesServed(params: { repo: string; path: string; type?: EmulatorRepoType }): number {
		return this.served.get(`${params.type ?? "model"}:${params.repo}/${params.path}`) ?? 0;
	}

	/** Body bytes written for every file. */
	totalBytesServed(): number {
		let n = 0;
		for (const v of this.served.values()) n += v;
		return n;
	}

	/** Forgets the request log and byte counters. */
	resetCounters(): void {
		this.requests.length = 0;
		this.served.clear();
	}

	/** Removes generated files. Called by close(). */
	async dispose(): Promise<void> {
		await rm(this.dataDir, { recursive: true, force: true });
	}

	private mustRepo(name: string, type: EmulatorRepoType = "model"): EmulatorRepo {
		const repo = this.repos.get(`${type}:${name}`);
		if (!repo) throw new TypeError(`unknown ${type} repo ${name}`);
		return repo;
	}

	private async makeFile(path: string, specOrContent: EmulatorContent | EmulatorFileSpec): Promise<EmulatorFile> {
		const spec: EmulatorFileSpec =
			typeof specOrContent === "object" && specOrContent !== null && "content" in specOrContent ? specOrContent : { content: specOrContent as EmulatorContent };
		const content = spec.content;
		let source: EmulatorFile["source"];
		let size: number;
		let sha256: string;
		let contentSha1: string;
		if (typeof content === "string" || content instanceof Uint8Array) {
			const data = typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content);
			source = { kind: "memory", data };
			size = data.length;
			sha256 = createHash("sha256").update(data).digest("hex");
			contentSha1 = createHash("sha1").update(`blob ${size}\0`).update(data).digest("hex");
		} else if ("path" in content) {
			const st = await stat(content.path);
			size = st.size;
			const h256 = createHash("sha256");
			const h1 = createHash("sha1").update(`blob ${size}\0`);
			for await (const chunk of createReadStream(content.path, { highWaterMark: READ_CHUNK })) {
				h256.update(chunk as Buffer);
				h1.update(chunk as Buffer);
			}
			sha256 = h256.digest("hex");
			contentSha1 = h1.digest("hex");
			source = { kind: "disk", path: content.path };
		} else {
			const g = await this.generate(content.generate.seed, content.generate.size);
			size = g.size;
			sha256 = g.sha256;
			contentSha1 = g.sha1;
			source = { kind: "disk", path: g.path };
		}
		const lfs = spec.lfs ?? (LFS_EXTENSIONS.test(path) || size >= LFS_SIZE);
		const oid = lfs ? gitBlobSha1(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`)) : contentSha1;
		return { path, size, oid, contentSha1, sha256, lfs, source };
	}

	/** Writes (once per seed and size) repeatable pseudo-random bytes to disk, hashing them on the way. */
	private generate(seed: string, size: number): Promise<{ path: string; sha256: string; sha1: string; size: number }> {
		if (!Number.isSafeInteger(size) || size < 0) throw new TypeError(`generate: bad size ${size}`);
		const key = `${size}:${seed}`;
		let p = this.generated.get(key);
		if (!p) {
			p = (async () => {
				const path = join(this.dataDir, createHash("sha256").update(key).digest("hex").slice(0, 32));
				const keyBytes = createHash("sha256").update(`modelfs-emulator\0${seed}`).digest();
				// AES-CTR over zeros: fast, repeatable, incompressible, and a new seed
				// gives unrelated bytes (so generated files never dedup by accident).
				const cipher = createCipheriv("aes-128-ctr", keyBytes.subarray(0, 16), keyBytes.subarray(16, 32));
				const zeros = Buffer.alloc(4 * 1024 * 1024);
				const h256 = createHash("sha256");
				const h1 = createHash("sha1").update(`blob ${size}\0`);
				async function* bytes(): AsyncGenerator<Buffer> {
					let left = size;
					while (left > 0) {
						const n = Math.min(left, zeros.length);
						const chunk = cipher.update(zeros.subarray(0, n));
						h256.update(chunk);
						h1.update(chunk);
						left -= n;
						yield chunk;
					}
				}
				await pipeline(Readable.from(bytes()), createWriteStream(path));
				return { path, sha256: h256.digest("hex"), sha1: h1.digest("hex"), size };
			})();
			this.generated.set(key, p);
		}
		return p;
	}

	private resolveRevision(repo: EmulatorRepo, revision: string): EmulatorCommit | null {
		const rev = revision === "HEAD" ? "main" : revision;
		const sha = repo.refs.get(rev) ?? (repo.commits.has(rev) ? rev : null);
		return sha === null ? null : (repo.commits.get(sha) ?? null);
	}

	/** The request handler given to http.createServer. */
	handle(req: IncomingMessage, res: ServerResponse): void {
		const record: EmulatorRequestRecord = {
			method: req.method ?? "GET",
			url: req.url ?? "/",
			route: "other",
			range: (req.headers.range as string | undefined) ?? null,
			status: 0,
			authorized: typeof req.headers.authorization === "string",
		};
		this.requests.push(record);
		res.on("finish", () => (record.status = res.statusCode));
		res.on("close", () => {
			if (record.status === 0) record.status = res.statusCode;
		});
		res.setHeader("X-Request-Id", `emu-${this.requests.length}`);
		this.route(req, res, record).catch((err: unknown) => {
			if (!res.headersSent) {
				sendError(res, 500, "InternalError", `emulator: ${(err as Error)?.message ?? String(err)}`);
			} else {
				res.destroy();
			}
		});
	}

	private matchRoute(pathname: string): RouteMatch | null {
		const segs = pathname
			.split("/")
			.filter((s) => s !== "")
			.map((s) => {
				try {
					return decodeURIComponent(s);
				} catch {
					return s;
				}
			});
		let route: RouteMatch["route"];
		let type: EmulatorRepoType;
		let tail: string[];
		if (segs[0] === "api" && (segs[1] === "models" || segs[1] === "datasets")) {
			type = segs[1] === "models" ? "model" : "dataset";
			tail = segs.slice(2);
			route = "info";
		} else {
			type = segs[0] === "datasets" ? "dataset" : "model";
			tail = type === "dataset" ? segs.slice(1) : segs;
			route = "resolve";
		}
		if (tail.length === 0) return null;
		// The name is one or two segments: prefer the two-segment repo that exists.
		let nameLen = 0;
		if (tail.length >= 2 && this.repos.has(`${type}:${tail[0]}/${tail[1]}`)) nameLen = 2;
		else if (this.repos.has(`${type}:${tail[0]}`)) nameLen = 1;
		let repo: EmulatorRepo | null = null;
		if (nameLen > 0) repo = this.repos.get(`${type}:${tail.slice(0, nameLen).join("/")}`) ?? null;
		else {
			// Unknown repo: guess where the name ends from the route keyword.
			const kw = tail.findIndex((s) => s === "resolve" || s === "tree" || s === "revision");
			nameLen = kw > 0 ? kw : Math.min(2, tail.length);
		}
		const name = tail.slice(0, nameLen).join("/");
		const rest = tail.slice(nameLen);
		if (route === "info") {
			if (rest[0] === "tree") route = "tree";
			else if (rest.length > 0 && rest[0] !== "revision") return null;
		} else if (rest[0] !== "resolve") {
			return null;
		}
		return { route, repo, type, name, rest };
	}

	private async route(req: IncomingMessage, res: ServerResponse, record: EmulatorRequestRecord): Promise<void> {
		const url = new URL(req.url ?? "/", "http://emulator.invalid");
		const m = this.matchRoute(url.pathname);
		if (!m) {
			sendError(res, 404, null, `emulator: no route for ${url.pathname}`);
			return;
		}
		record.route = m.route;
		const method = req.method ?? "GET";
		if (method !== "GET" && method !== "HEAD") {
			sendError(res, 405, null, `emulator: ${method} not supported`);
			return;
		}
		const fault = this.takeFault(m, url.pathname, req);
		if (fault && (await this.applyStatusFault(fault, res))) return;

		const token = bearer(req);
		const repo = m.repo;
		if (!repo || (repo.private && !(token !== null && repo.tokens.includes(token)))) {
			// The hub hides private repos: 401 without a token, 404 with a wrong one.
			sendError(res, token === null ? 401 : 404, "RepoNotFound", `Repository not found: ${m.name}`);
			return;
		}
		if (m.route === "info") {
			const rev = m.rest[0] === "revision" ? m.rest.slice(1).join("/") || "main" : "main";
			const commit = this.resolveRevision(repo, rev);
			if (!commit) {
				sendError(res, 404, "RevisionNotFound", `Invalid rev id: ${rev}`);
				return;
			}
			const body = {
				_id: createHash("sha1").update(`${repo.type}:${repo.name}`).digest("hex").slice(0, 24),
				id: repo.name,
				modelId: repo.type === "model" ? repo.name : undefined,
				author: repo.name.includes("/") ? repo.name.split("/")[0] : undefined,
				sha: commit.sha,
				lastModified: new Date(Date.UTC(2026, 0, 1)).toISOString(),
				private: repo.private,
				gated: repo.gated ? "manual" : false,
				disabled: false,
				downloads: 0,
				likes: 0,
				tags: [],
				pipeline_tag: repo.type === "model" ? "text-generation" : undefined,
				siblings: [...commit.files.keys()].sort().map((rfilename) => ({ rfilename })),
			};
			sendJson(res, 200, body, method);
			return;
		}
		if (m.route === "tree") {
			this.serveTree(repo, m.rest, url, req, res);
			return;
		}
		// resolve: rest = ["resolve", rev, ...path]
		const rev = m.rest[1] ?? "";
		const commit = this.resolveRevision(repo, rev);
		if (!commit) {
			sendError(res, 404, "RevisionNotFound", `Invalid rev id: ${rev}`);
			return;
		}
		const path = m.rest.slice(2).join("/");
		const file = commit.files.get(path);
		if (!file) {
			sendError(res, 404, "EntryNotFound", `${path} does not exist on "${rev}"`);
			return;
		}
		if (repo.gated && !(token !== null && repo.tokens.includes(token))) {
			const status = token === null ? 401 : 403;
			sendError(res, status, "GatedRepo", `Access to model ${repo.name} is restricted. You must have access to it and be authenticated to access it.`);
			return;
		}
		await this.serveFile({ repo, commit, file, req, res, method, fault });
	}

	private serveTree(repo: EmulatorRepo, rest: string[], url: URL, req: IncomingMessage, res: ServerResponse): void {
		// rest = ["tree", rev..., path...]: the revision is the longest prefix that names a ref or commit.
		const after = rest.slice(1);
		let commit: EmulatorCommit | null = null;
		let revLen = 0;
		for (let n = after.length; n >= 1; n--) {
			commit = this.resolveRevision(repo, after.slice(0, n).join("/"));
			if (commit) {
				revLen = n;
				break;
			}
		}
		if (!commit) {
			sendError(res, 404, "RevisionNotFound", `Invalid rev id: ${after[0] ?? ""}`);
			return;
		}
		const dir = after.slice(revLen).join("/");
		const recursive = url.searchParams.get("recursive") === "true" || url.searchParams.get("recursive") === "1";
		const entries: Array<Record<string, unknown>> = [];
		const dirs = new Set<string>();
		const under = dir === "" ? "" : `${dir}/`;
		let dirExists = dir === "";
		for (const f of commit.files.values()) {
			if (!f.path.startsWith(under)) continue;
			dirExists = true;
			const rel = f.path.slice(under.length);
			const parts = rel.split("/");
			for (let i = 1; i < parts.length; i++) {
				if (!recursive && i > 1) break;
				dirs.add(under + parts.slice(0, i).join("/"));
			}
			if (!recursive && parts.length > 1) continue;
			entries.push({
				type: "file",
				oid: f.oid,
				size: f.size,
				path: f.path,
				...(f.lfs ? { lfs: { oid: f.sha256, size: f.size, pointerSize: 130 + String(f.size).length } } : {}),
			});
		}
		if (!dirExists) {
			sendError(res, 404, "EntryNotFound", `${dir} does not exist on "${commit.sha}"`);
			return;
		}
		for (const d of dirs) {
			entries.push({ type: "directory", oid: createHash("sha1").update(`tree ${d}`).digest("hex"), size: 0, path: d });
		}
		entries.sort((a, b) => ((a.path as string) < (b.path as string) ? -1 : 1));
		const cursor = Number(url.searchParams.get("cursor") ?? "0") || 0;
		const page = entries.slice(cursor, cursor + this.treePageSize);
		if (cursor + this.treePageSize < entries.length) {
			const next = new URL(url.toString());
			next.searchParams.set("cursor", String(cursor + this.treePageSize));
			const host = req.headers.host ?? new URL(this.url).host;
			res.setHeader("Link", `<http://${host}${next.pathname}${next.search}>; rel="next"`);
		}
		sendJson(res, 200, page, req.method ?? "GET");
	}

	private async serveFile(p: {
		repo: EmulatorRepo;
		commit: EmulatorCommit;
		file: EmulatorFile;
		req: IncomingMessage;
		res: ServerResponse;
		method: string;
		fault: ActiveFault | null;
	}): Promise<void> {
		const { file, res, req } = p;
		res.setHeader("X-Repo-Commit", p.commit.sha);
		res.setHeader("Accept-Ranges", "bytes");
		res.setHeader("Content-Type", "application/octet-stream");
		if (file.lfs) {
			res.setHeader("ETag", `"${file.sha256}"`);
			res.setHeader("X-Linked-Etag", `"${file.sha256}"`);
			res.setHeader("X-Linked-Size", String(file.size));
		} else {
			res.setHeader("ETag", `"${file.contentSha1}"`);
		}
		let start = 0;
		let end = file.size; // exclusive
		const range = req.headers.range;
		if (typeof range === "string") {
			const r = parseRange(range, file.size);
			if (r === "unsatisfiable") {
				res.setHeader("Content-Range", `bytes */${file.size}`);
				sendError(res, 416, "RangeNotSatisfiable", `Range ${range} not satisfiable for size ${file.size}`);
				return;
			}
			if (r) {
				start = r.start;
				end = r.end;
				res.statusCode = 206;
				res.setHeader("Content-Range", `bytes ${start}-${end - 1}/${file.size}`);
			}
		}
		if (res.statusCode !== 206) res.statusCode = 200;
		res.setHeader("Content-Length", String(end - start));
		if (p.method === "HEAD") {
			res.end();
			return;
		}
		const key = `${p.repo.type}:${p.repo.name}/${file.path}`;
		const count = (n: number): void => {
			this.served.set(key, (this.served.get(key) ?? 0) + n);
		};
		const fault = p.fault;
		if (!fault || (fault.kind !== "drop" && fault.kind !== "corrupt" && fault.kind !== "slow")) {
			// The body as it is.
			if (file.source.kind === "disk") {
				await sendFileRange({ res, path: file.source.path, start, end, onSent: count });
				return;
			}
			const body = bodyStream(file, start, end);
			body.on("data", (chunk: Buffer) => count(chunk.length));
			await pipeline(body, res).catch(() => body.destroy());
			return;
		}
		const body = bodyStream(file, start, end);
		const length = end - start;
		const dropAt = fault.kind === "drop" ? Math.min(fault.afterBytes ?? Math.floor(length / 2), Math.max(0, length - 1)) : -1;
		const rate = fault.bytesPerSecond ?? 1024 * 1024;
		let sent = 0;
		let corrupted = false;
		const startedAt = Date.now();
		async function* shaped(): AsyncGenerator<Buffer> {
			for await (const raw of body) {
				let chunk = raw as Buffer;
				if (fault!.kind === "drop" && sent + chunk.length > dropAt) {
					chunk = chunk.subarray(0, dropAt - sent);
					if (chunk.length > 0) yield chunk;
					sent += chunk.length;
					return;
				}
				if (fault!.kind === "corrupt" && !corrupted && chunk.length > 0) {
					chunk = Buffer.from(chunk);
					chunk[0] ^= 0xff;
					corrupted = true;
				}
				if (fault!.kind === "slow") {
					// Small pieces so a killed client leaves an exact, small count.
					for (let off = 0; off < chunk.length; off += 16 * 1024) {
						const piece = chunk.subarray(off, off + 16 * 1024);
						sent += piece.length;
						const due = startedAt + (sent / rate) * 1000;
						const wait = due - Date.now();
						if (wait > 0) await new Promise((r) => setTimeout(r, wait));
						yield piece;
					}
					continue;
				}
				sent += chunk.length;
				yield chunk;
			}
		}
		try {
			for await (const chunk of shaped()) {
				count(chunk.length);
				if (!res.write(chunk)) await once(res, "drain");
			}
		} catch {
			body.destroy();
			res.destroy();
			return;
		}
		body.destroy();
		if (fault.kind === "drop") {
			// Headers promised more bytes than we sent: once what we wrote has
			// reached the socket, cut it, so the client sees a short body.
			res.flushHeaders();
			await new Promise<void>((resolve) => res.write(Buffer.alloc(0), () => resolve()));
			res.destroy();
			return;
		}
		res.end();
	}

	/** The first fault that matches this request, with its count taken. */
	private takeFault(m: RouteMatch, pathname: string, req: IncomingMessage): ActiveFault | null {
		const filePath = m.route === "resolve" ? m.rest.slice(2).join("/") : null;
		const range = req.headers.range;
		const probe = typeof range === "string" && /^bytes=0-0$/.test(range.trim());
		for (const f of this.faults) {
			if (f.remaining <= 0) continue;
			if (f.route && f.route !== m.route) continue;
			if (f.match !== undefined) {
				if (f.match instanceof RegExp) {
					if (!f.match.test(pathname)) continue;
				} else if (f.match.startsWith("/")) {
					if (!pathname.startsWith(f.match)) continue;
				} else if (filePath !== f.match) {
					continue;
				}
			}
			// Body faults leave the 1-byte size probe alone: they are about the transfer.
			if (probe && (f.kind === "drop" || f.kind === "corrupt" || f.kind === "slow")) continue;
			f.remaining -= 1;
			return f;
		}
		return null;
	}

	private async applyStatusFault(f: ActiveFault, res: ServerResponse): Promise<boolean> {
		switch (f.kind) {
			case "rateLimit":
				res.setHeader("Retry-After", String(f.retryAfterSeconds ?? 1));
				sendError(res, 429, null, "emulator: rate limited");
				return true;
			case "serverError":
				sendError(res, f.status ?? 500, null, "emulator: internal error");
				return true;
			case "gated":
				sendError(res, 401, "GatedRepo", "emulator: access to this repo is restricted");
				return true;
			case "notFound":
				sendError(res, 404, f.errorCode ?? "EntryNotFound", "emulator: not found");
				return true;
			default:
				return false;
		}
	}
}

function bearer(req: IncomingMessage): string | null {
	const h = req.headers.authorization;
	if (typeof h !== "string") return null;
	const m = /^Bearer\s+(.+)$/i.exec(h);
	return m ? m[1].trim() : null;
}

function gitBlobSha1(data: Buffer): string {
	return createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex");
}

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` range; null means "ignore, send all". */
function parseRange(header: string, size: number): { start: number; end: number } | "unsatisfiable" | null {
	const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
	if (!m || (m[1] === "" && m[2] === "")) return null;
	let start: number;
	let end: number;
	if (m[1] === "") {
		const n = Number(m[2]);
		start = Math.max(0, size - n);
		end = size;
	} else {
		start = Number(m[1]);
		end = m[2] === "" ? size : Math.min(size, Number(m[2]) + 1);
	}
	if (start >= size || end <= start) return "unsatisfiable";
	return { start, end };
}

/**
 * Sends bytes [start, end) of a file through two reused 1 MiB buffers, each
 * reused only once the socket took it. The emulator stands in for the hub's
 * CDN, which costs a real node nothing; a read stream (a fresh Buffer per
 * read) cost about twice the CPU per byte here, taken from the 2 cores that
 * the client under test (ingest or curl) runs on.
 */
async function sendFileRange(p: { res: ServerResponse; path: string; start: number; end: number; onSent: (n: number) => void }): Promise<void> {
	const { res } = p;
	const fh = await open(p.path, "r");
	const buffers = [Buffer.allocUnsafe(READ_CHUNK), Buffer.allocUnsafe(READ_CHUNK)];
	const sent: Array<Promise<boolean>> = [Promise.resolve(true), Promise.resolve(true)];
	const write = (data: Buffer): Promise<boolean> =>
		new Promise((resolve) => {
			if (res.destroyed) return resolve(false);
			res.write(data, (err) => resolve(!err));
		});
	try {
		let pos = p.start;
		for (let i = 0; pos < p.end; i++) {
			const slot = i % 2;
			// The buffer's previous write must be done before it is filled again.
			if (!(await sent[slot])) return;
			const { bytesRead } = await fh.read(buffers[slot], 0, Math.min(READ_CHUNK, p.end - pos), pos);
			if (bytesRead === 0) break;
			pos += bytesRead;
			p.onSent(bytesRead);
			sent[slot] = write(buffers[slot].subarray(0, bytesRead));
		}
		if ((await sent[0]) && (await sent[1])) res.end();
	} catch {
		res.destroy();
	} finally {
		await Promise.all(sent).catch(() => undefined);
		await fh.close();
	}
}

function bodyStream(file: EmulatorFile, start: number, end: number): Readable {
	if (file.source.kind === "memory") return Readable.from([file.source.data.subarray(start, end)], { objectMode: false });
	if (end <= start) return Readable.from([], { objectMode: false });
	return createReadStream(file.source.path, { start, end: end - 1, highWaterMark: READ_CHUNK });
}

function sendJson(res: ServerResponse, status: number, body: unknown, method: string): void {
	const data = Buffer.from(JSON.stringify(body));
	res.statusCode = status;
	res.setHeader("Content-Type", "application/json; charset=utf-8");
	res.setHeader("Content-Length", String(data.length));
	res.end(method === "HEAD" ? undefined : data);
}

function sendError(res: ServerResponse, status: number, errorCode: string | null, message: string): void {
	if (errorCode) res.setHeader("X-Error-Code", errorCode);
	res.setHeader("X-Error-Message", message.replace(/[^\x20-\x7e]/g, "?"));
	sendJson(res, status, { error: message }, "GET");
}
