import type { Dirent, Stats } from "node:fs";
import { lstat, readdir, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, join, resolve, sep } from "node:path";
import pLimit from "p-limit";
import { UsageError } from "../errors.js";
import { hashFile } from "../hash/hashFile.js";
import { readMountinfo } from "../system/readMountinfo.js";
import type { ScanContent, ScanCopy, ScanModel, ScanReport } from "./ScanTypes.js";

export interface ScanCachesParams {
	/** Folders to walk: HF caches (`~/.cache/huggingface/hub`, a backend's `/root/.cache`), plain model folders, or folders holding any of these. */
	dirs: string[];
	/** The node's name in the report. @default os.hostname() */
	node?: string;
	/**
	 * Also hash files that have no hub name and a size no other file has, so
	 * that `scan --merge` can match them across nodes (reads them all).
	 * @default false
	 */
	hashUnnamed?: boolean;
	/** Files hashed at once. @default 2 */
	concurrency?: number;
	/** The mount table, to leave modelfs views out. @default "/proc/self/mountinfo" */
	mountinfo?: string;
	/** Called with the bytes of each file hashed (for a progress bar). */
	onHash?: (bytes: number) => void;
}

/** One regular file (an inode) held on this node. */
interface Held {
	key: string;
	size: number;
	path: string;
	/** Digests known for it: from its hub blob name, or from hashing. */
	sha256: string | null;
	sha1: string | null;
	/** Which digest its hub blob name gave, if any: the content's id prefers it, so nodes that did not hash agree. */
	named: "sha256" | "sha1" | null;
	/** The copy (location) indices it belongs to. */
	copies: Set<number>;
}

interface Copy extends ScanCopy {
	/** hub repo id for hf-cache copies (`model:org/name`), null for plain folders until labelled. */
	repoId: string | null;
	inodes: Set<string>;
}

const REPO_DIR = /^(models|datasets|spaces)--(.+)$/;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX40 = /^[0-9a-f]{40}$/;
/** Files that make a folder a plain model folder (with or beside a config.json). */
const WEIGHTS = /\.(safetensors|gguf|bin|pt|pth|onnx|engine|plan|msgpack|h5|ckpt|tflite)$/i;
/** Below the hub's LFS threshold a file may be named by its git sha1 elsewhere. */
const SHA1_MAX = 10_000_000;
/** Tool state, never model files. */
const SKIP_DIRS = new Set([".git", ".locks", ".no_exist", ".cache", "__pycache__", "node_modules"]);

/**
 * Walks existing caches read-only and reports, per model and in total, the
 * bytes held, the bytes duplicated and what one shared store would hold. It
 * hashes nothing that sizes and hub names already prove: a Hugging Face
 * blob is named by its sha256 (LFS) or git sha1, so the same name and size
 * is the same content; a file of a size no other file has is unique; only
 * files without a hub name that share their size with another file are
 * read (sha256, plus git sha1 when a sha1-named blob has that size).
 * Symlinks are never followed into folders; modelfs views are skipped.
 */
export async function scanCaches(params: ScanCachesParams): Promise<ScanReport> {
	if (!Array.isArray(params?.dirs) || params.dirs.length === 0) throw new TypeError("scanCaches: `dirs` must be a non-empty array");
	const dirs = params.dirs.map((d) => resolve(d));
	for (const d of dirs) {
		const s = await stat(d).catch((err: NodeJS.ErrnoException) => {
			if (err.code === "ENOENT") throw new UsageError("SCAN_PATH_NOT_FOUND", `${d} does not exist`, { hint: "give folders that hold model caches, e.g. ~/.cache/huggingface/hub" });
			throw err;
		});
		if (!s.isDirectory()) throw new UsageError("SCAN_NOT_A_FOLDER", `${d} is not a folder`, { hint: "give folders that hold model caches" });
	}
	const views = new Set((await readMountinfo({ path: params.mountinfo }).catch(() => [])).filter((m) => m.fstype === "fuse.modelfs").map((m) => m.mountpoint));
	const held = new Map<string, Held>();
	const copies: Copy[] = [];
	const skipped: ScanReport["skipped"] = [];
	const seenDirs = new Set<string>();

	const hold = (s: Stats, path: string, copy: number, name: string | null): void => {
		const key = `${s.dev}:${s.ino}`;
		let h = held.get(key);
		if (h === undefined) {
			h = { key, size: s.size, path, sha256: null, sha1: null, named: null, copies: new Set() };
			held.set(key, h);
		}
		if (name !== null && HEX64.test(name)) {
			h.sha256 ??= name;
			h.named ??= "sha256";
		}
		if (name !== null && HEX40.test(name)) {
			h.sha1 ??= name;
			h.named ??= "sha1";
		}
		h.copies.add(copy);
		if (!copies[copy].inodes.has(key)) {
			copies[copy].inodes.add(key);
			copies[copy].files++;
			copies[copy].heldBytes += s.size;
		}
	};

	const scanRepo = async (dir: string, m: RegExpExecArray): Promise<void> => {
		const type = m[1] === "models" ? "model" : m[1] === "datasets" ? "dataset" : "space";
		const copy = copies.push({ path: dir, kind: "hf-cache", files: 0, heldBytes: 0, revisions: [], repoId: `${type}:${m[2].split("--").join("/")}`, inodes: new Set() }) - 1;
		for (const name of await readdirOrSkip(join(dir, "blobs"), skipped)) {
			const p = join(dir, "blobs", name);
			const s = await lstat(p).catch(() => null);
			if (s === null || !s.isFile()) continue;
			if (name.endsWith(".incomplete")) {
				skipped.push({ path: p, reason: "incomplete" });
				continue;
			}
			hold(s, p, copy, name);
		}
		const revisions = await readdirOrSkip(join(dir, "snapshots"), skipped);
		copies[copy].revisions = revisions.sort();
		for (const rev of revisions) await walkSnapshot(join(dir, "snapshots", rev), copy);
	};

	/** Snapshot entries: symlinks (into blobs/ or anywhere) hold nothing; regular files do. */
	const walkSnapshot = async (dir: string, copy: number): Promise<void> => {
		for (const e of await readdirOrSkip(dir, skipped, true)) {
			const p = join(dir, e.name);
			if (e.isDirectory()) await walkSnapshot(p, copy);
			else if (e.isSymbolicLink()) {
				const t = await stat(p).catch(() => null);
				if (t === null) skipped.push({ path: p, reason: "broken-symlink" });
				// A link into this repo's blobs is that blob; one elsewhere (a view) holds no local bytes.
			} else if (e.isFile()) {
				const s = await lstat(p);
				hold(s, p, copy, null);
			}
		}
	};

	const scanFolder = async (dir: string): Promise<void> => {
		const copy = copies.push({ path: dir, kind: "folder", files: 0, heldBytes: 0, revisions: [], repoId: null, inodes: new Set() }) - 1;
		const walk = async (d: string): Promise<void> => {
			for (const e of await readdirOrSkip(d, skipped, true)) {
				const p = join(d, e.name);
				if (e.isDirectory()) {
					if (!SKIP_DIRS.has(e.name) && !views.has(p)) await walk(p);
				} else if (e.isFile()) {
					if (e.name.endsWith(".incomplete")) skipped.push({ path: p, reason: "incomplete" });
					else hold(await lstat(p), p, copy, null);
				}
			}
		};
		await walk(dir);
	};

	const walk = async (dir: string): Promise<void> => {
		if (seenDirs.has(dir)) return;
		seenDirs.add(dir);
		if (views.has(dir)) {
			skipped.push({ path: dir, reason: "modelfs-view" });
			return;
		}
		const m = REPO_DIR.exec(basename(dir));
		const entries = await readdirOrSkip(dir, skipped, true);
		if (m !== null && entries.some((e) => e.isDirectory() && (e.name === "blobs" || e.name === "snapshots"))) return scanRepo(dir, m);
		const names = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
		const weights = [...names].some((n) => WEIGHTS.test(n));
		if ((names.has("config.json") && weights) || [...names].some((n) => /\.(safetensors|gguf)$/i.test(n))) return scanFolder(dir);
		for (const e of entries) if (e.isDirectory() && !SKIP_DIRS.has(e.name)) await walk(join(dir, e.name));
	};

	// Overlapping arguments (a cache and a folder inside it) are walked once.
	for (const d of [...new Set(dirs)].sort()) if (!dirs.some((o) => o !== d && d.startsWith(`${o}${sep}`))) await walk(d);

	// Prove identity where sizes collide and names do not already tell.
	const bySize = new Map<number, Held[]>();
	for (const h of held.values()) {
		const list = bySize.get(h.size);
		if (list) list.push(h);
		else bySize.set(h.size, [h]);
	}
	const limit = pLimit(params.concurrency ?? 2);
	let hashedFiles = 0;
	let hashedBytes = 0;
	const jobs: Array<Promise<void>> = [];
	for (const group of bySize.values()) {
		const alone = group.length === 1;
		if (alone && !(params.hashUnnamed && group[0].sha256 === null && group[0].sha1 === null)) continue;
		// Compare by sha256 when any file of the group is named by one (hashing
		// gives a sha256 every time), else by git sha1 when any is named by that.
		const bySha256 = group.some((h) => h.sha256 !== null) || !group.some((h) => h.sha1 !== null);
		for (const h of group) {
			if (bySha256 ? h.sha256 !== null : h.sha1 !== null) continue;
			jobs.push(
				limit(async () => {
					try {
						// Small files also get a git sha1 (what the hub names non-LFS blobs by), so another node's blob name can match them.
						const r = await hashFile({ path: h.path, sha1: !bySha256 || h.size < SHA1_MAX });
						h.sha256 ??= r.sha256;
						h.sha1 ??= r.sha1;
						hashedFiles++;
						hashedBytes += r.size;
						params.onHash?.(r.size);
					} catch (err) {
						skipped.push({ path: h.path, reason: `unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
					}
				}),
			);
		}
	}
	await Promise.all(jobs);

	// Union files that share a digest (of the same size) into contents.
	const parent = new Map<string, string>();
	const find = (k: string): string => {
		let r = k;
		while (parent.get(r) !== r) r = parent.get(r)!;
		parent.set(k, r);
		return r;
	};
	const byDigest = new Map<string, string>();
	for (const h of held.values()) {
		parent.set(h.key, h.key);
		for (const d of [h.sha256 && `sha256:${h.sha256}`, h.sha1 && `sha1:${h.sha1}`]) {
			if (!d) continue;
			const k = `${d}:${h.size}`;
			const other = byDigest.get(k);
			if (other === undefined) byDigest.set(k, h.key);
			else parent.set(find(h.key), find(other));
		}
	}
	const groups = new Map<string, Held[]>();
	for (const h of held.values()) {
		const r = find(h.key);
		const list = groups.get(r);
		if (list) list.push(h);
		else groups.set(r, [h]);
	}

	// Label plain folders by the hub repo they hold most bytes of.
	const contentOf = new Map<string, string>();
	let local = 0;
	const contentIds = new Map<string, { id: string; aliases: string[]; size: number; members: Held[] }>();
	for (const [root, members] of [...groups.entries()].sort((a, b) => (a[1][0].path < b[1][0].path ? -1 : 1))) {
		const digests = [...new Set(members.flatMap((h) => [h.sha256 && `sha256:${h.sha256}`, h.sha1 && `sha1:${h.sha1}`]).filter((d): d is string => !!d))].sort();
		const named = members.find((h) => h.named !== null);
		const id = named ? `${named.named}:${named[named.named!]}` : (digests.find((d) => d.startsWith("sha256:")) ?? digests[0] ?? `local:${local++}`);
		const aliases = digests.filter((d) => d !== id);
		contentIds.set(root, { id, aliases, size: members[0].size, members });
		for (const h of members) contentOf.set(h.key, root);
	}
	for (const c of copies) {
		if (c.repoId !== null) continue;
		const shared = new Map<string, number>();
		for (const key of c.inodes) {
			const content = contentIds.get(contentOf.get(key)!)!;
			const repos = new Set<string>();
			for (const h of content.members) for (const i of h.copies) if (copies[i].kind === "hf-cache") repos.add(copies[i].repoId!);
			for (const r of repos) shared.set(r, (shared.get(r) ?? 0) + content.size);
		}
		const best = [...shared.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
		c.repoId = best !== undefined && best[1] * 2 >= c.heldBytes && c.heldBytes > 0 ? best[0] : `folder:${c.path}`;
	}

	const models = new Map<string, ScanModel & { inodes: Set<string> }>();
	for (const c of copies) {
		let m = models.get(c.repoId!);
		if (m === undefined) {
			m = { id: c.repoId!, copies: [], heldBytes: 0, uniqueBytes: 0, duplicateBytes: 0, inodes: new Set() };
			models.set(m.id, m);
		}
		m.copies.push({ path: c.path, kind: c.kind, files: c.files, heldBytes: c.heldBytes, revisions: c.revisions });
		for (const k of c.inodes) m.inodes.add(k);
	}
	const contents: ScanContent[] = [];
	const modelsOfContent = new Map<string, Set<string>>();
	for (const m of models.values()) {
		const distinct = new Set<string>();
		for (const k of m.inodes) {
			m.heldBytes += held.get(k)!.size;
			distinct.add(contentOf.get(k)!);
		}
		for (const r of distinct) {
			m.uniqueBytes += contentIds.get(r)!.size;
			const set = modelsOfContent.get(r) ?? new Set();
			set.add(m.id);
			modelsOfContent.set(r, set);
		}
		m.duplicateBytes = m.heldBytes - m.uniqueBytes;
	}
	for (const [root, c] of contentIds)
		contents.push({ id: c.id, aliases: c.aliases, size: c.size, copies: c.members.length, models: [...(modelsOfContent.get(root) ?? [])].sort() });

	const heldBytes = [...held.values()].reduce((n, h) => n + h.size, 0);
	const uniqueBytes = contents.reduce((n, c) => n + c.size, 0);
	return {
		format: 1,
		kind: "modelfs-scan",
		node: params.node ?? hostname(),
		scannedAt: new Date().toISOString(),
		dirs,
		totals: { files: held.size, heldBytes, uniqueBytes, duplicateBytes: heldBytes - uniqueBytes, hashedFiles, hashedBytes },
		models: [...models.values()]
			.map(({ inodes: _inodes, ...m }) => ({ ...m, copies: m.copies.sort((a, b) => (a.path < b.path ? -1 : 1)) }))
			.sort((a, b) => b.duplicateBytes - a.duplicateBytes || b.heldBytes - a.heldBytes || (a.id < b.id ? -1 : 1)),
		contents: contents.sort((a, b) => b.size - a.size || (a.id < b.id ? -1 : 1)),
		skipped: skipped.sort((a, b) => (a.path < b.path ? -1 : 1)),
	};
}

async function readdirOrSkip(dir: string, skipped: ScanReport["skipped"]): Promise<string[]>;
async function readdirOrSkip(dir: string, skipped: ScanReport["skipped"], types: true): Promise<Dirent[]>;
async function readdirOrSkip(dir: string, skipped: ScanReport["skipped"], types?: true): Promise<string[] | Dirent[]> {
	try {
		return types ? (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1)) : (await readdir(dir)).sort();
	} catch (err) {
		const code = (err as NodeJS.ErrnoException).code;
		if (code !== "ENOENT") skipped.push({ path: dir, reason: `unreadable (${code})` });
		return [];
	}
}
