/**
 * The fuse-native baseline of `npm run bench`: the FUSE server a Node
 * developer would write with the `fuse-native` package (libfuse 2, every
 * request answered on the JS thread, reads with fs.read). It serves the same
 * tree as the modelfs view from a manifest the bench writes, reading file
 * bytes from the same store blobs.
 *
 *   node --import tsx bench/fuse-native-server.ts <manifest.json> <mountpoint>
 *
 * Prints "ready" once mounted. The bench unmounts the mount point and then
 * sends SIGTERM; SIGINT is ignored so a Ctrl-C in the terminal leaves the
 * order of that cleanup to the bench.
 */
import { close, open, read, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { FuseManifest, FuseManifestEntry } from "./load/FuseManifest.js";

interface FuseNative {
	new (mnt: string, ops: Record<string, unknown>, opts: Record<string, unknown>): { mount(cb: (err: Error | null) => void): void };
	EIO: number;
	ENOENT: number;
}

const [manifestPath, mountpoint] = process.argv.slice(2);
if (!manifestPath || !mountpoint) {
	process.stderr.write("usage: fuse-native-server.ts <manifest.json> <mountpoint>\n");
	process.exitCode = 2;
} else {
	serve(manifestPath, mountpoint);
}

function serve(manifestPath: string, mountpoint: string): void {
	const require = createRequire(import.meta.url);
	let Fuse: FuseNative;
	try {
		Fuse = require("fuse-native") as FuseNative;
	} catch (err) {
		process.stderr.write(`fuse-native cannot load: ${(err as Error).message}\n`);
		process.exitCode = 3;
		return;
	}
	const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as FuseManifest;
	const byPath = new Map<string, FuseManifestEntry>();
	const children = new Map<string, string[]>();
	for (const e of manifest.entries) {
		const path = `/${e.path}`;
		byPath.set(path, e);
		if (e.path !== "") {
			const parent = path.slice(0, path.lastIndexOf("/")) || "/";
			const list = children.get(parent) ?? [];
			list.push(path.slice(path.lastIndexOf("/") + 1));
			children.set(parent, list);
		}
	}
	byPath.set("/", byPath.get("/") ?? { path: "", kind: "dir" });
	const inline = new Map<number, Buffer>();
	let nextInline = 1 << 30;
	const time = new Date();

	const ops = {
		getattr(path: string, cb: (err: number, stat?: object) => void) {
			const e = byPath.get(path);
			if (!e) return cb(Fuse.ENOENT);
			const mode = e.kind === "dir" ? 0o40555 : e.kind === "symlink" ? 0o120777 : 0o100444;
			const size = e.kind === "symlink" ? Buffer.byteLength(e.target ?? "") : e.kind === "file" ? (e.size ?? 0) : 4096;
			cb(0, { mode, size, uid: 0, gid: 0, nlink: e.kind === "dir" ? 2 : 1, mtime: time, atime: time, ctime: time });
		},
		readdir(path: string, cb: (err: number, names?: string[]) => void) {
			const e = byPath.get(path);
			if (e?.kind !== "dir") return cb(Fuse.ENOENT);
			cb(0, children.get(path) ?? []);
		},
		readlink(path: string, cb: (err: number, target?: string) => void) {
			const e = byPath.get(path);
			if (e?.kind !== "symlink") return cb(Fuse.ENOENT);
			cb(0, e.target);
		},
		open(path: string, _flags: number, cb: (err: number, fd?: number) => void) {
			const e = byPath.get(path);
			if (e?.kind !== "file") return cb(Fuse.ENOENT);
			if (e.content !== undefined) {
				const fh = nextInline++;
				inline.set(fh, Buffer.from(e.content, "utf8"));
				return cb(0, fh);
			}
			open(e.source!, "r", (err, fd) => (err ? cb(Fuse.EIO) : cb(0, fd)));
		},
		read(_path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void) {
			const bytes = inline.get(fd);
			if (bytes) return cb(bytes.copy(buf, 0, pos, Math.min(bytes.length, pos + len)));
			read(fd, buf, 0, len, pos, (err, n) => cb(err ? Fuse.EIO : n));
		},
		release(_path: string, fd: number, cb: (err: number) => void) {
			if (inline.delete(fd)) return cb(0);
			close(fd, () => cb(0));
		},
	};
	process.on("SIGINT", () => {});
	process.on("SIGTERM", () => process.exit(0));
	new Fuse(mountpoint, ops, {}).mount((err) => {
		if (err) {
			process.stderr.write(`fuse-native mount of ${mountpoint} failed: ${err.message}\n`);
			process.exit(1);
		}
		process.stdout.write("ready\n");
	});
}
