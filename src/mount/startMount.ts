import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { constants as osConstants } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import type { Readable } from "node:stream";
import { MountError, type MountErrorCode, StoreError } from "../errors.js";
import { findMountUsers } from "../system/findMountUsers.js";
import { isProcessAlive } from "../system/isProcessAlive.js";
import { probeMountpoint } from "../system/probeMountpoint.js";
import { readMountinfo } from "../system/readMountinfo.js";
import { readReadyLine } from "../system/readReadyLine.js";
import type { ViewDir } from "../view/ViewTree.js";
import { type ViewImageSummary, writeViewImage } from "../view/writeViewImage.js";
import { assertCanMount } from "./assertCanMount.js";
import { daemonBinaryPath } from "./daemonBinaryPath.js";
import { listInstanceDirs } from "./listInstanceDirs.js";
import { listModelfsMounts } from "./listModelfsMounts.js";
import type { MountRecord } from "./MountTypes.js";
import { probeView } from "./probeView.js";
import { runtimeDirFor } from "./runtimeDirFor.js";
import { umountPath } from "./umountPath.js";

export interface StartMountParams {
	/** Where the view appears; must be an existing directory with nothing mounted on it. */
	mountpoint: string;
	/** The tree to show (buildViewTree, or hand-built in tests). */
	tree: ViewDir;
	/** The store; blobs are read from `<storeDir>/objects`. */
	storeDir: string;
	/**
	 * Mount over a folder that holds files (they are hidden while the view is
	 * mounted). Without it such a mountpoint is refused. @default false
	 */
	nonempty?: boolean;
	/** Use FUSE passthrough when the kernel allows it. @default true */
	passthrough?: boolean;
	/**
	 * Keep the holder attached: its log goes to this process's stderr and
	 * `exited` resolves when the mount ends (for systemd). @default false
	 */
	foreground?: boolean;
	/** Worker threads, each on its own /dev/fuse fd. @default 4 */
	threads?: number;
	/** Layout options recorded in mount.json for `modelfs status`. @default {} */
	view?: Record<string, unknown>;
	/** Catalog generation the tree was built from. @default null */
	catalogGeneration?: number | null;
	/**
	 * An fd store to park the /dev/fuse fds in: a path (or `@abstract`
	 * name) for the holder's NOTIFY_SOCKET. @default $NOTIFY_SOCKET (systemd), else the
	 * notify socket of $MODELFS_FD_KEEPER, else none
	 */
	notifySocket?: string | null;
	/** Root of the runtime folders. @default $MODELFS_RUN_DIR, else /run/modelfs */
	runRoot?: string;
	/** How long to wait for the mount to answer. @default 30000 */
	timeoutMs?: number;
	/** Progress lines (a detached dead mount...). @default none */
	log?: (line: string) => void;
}

export interface StartedMount {
	mountpoint: string;
	/** This mount instance's own runtime folder. */
	runtimeDir: string;
	holderPid: number;
	image: ViewImageSummary;
	/** A dead mount (ENOTCONN) was found at the mountpoint and detached first. */
	detachedDeadMount: boolean;
	/**
	 * Resolves with the holder's exit code when it ends. Only meaningful
	 * while this process lives (always, with `foreground`).
	 */
	exited: Promise<number | null>;
	/** Foreground only: ask the holder to detach the mount and end. */
	stop: () => void;
}

/**
 * Mounts a view: writes the view image into a new runtime folder of its
 * own (`<run root>/instances/<id>/`, linked from the mountpoint's index),
 * starts the holder (`modelfs-fused mount`, which mounts and starts the
 * serving daemon) and returns once the mount answers a stat. A dead mount
 * left at the mountpoint by killed processes is detached first.
 */
export async function startMount(params: StartMountParams): Promise<StartedMount> {
	if (typeof params?.mountpoint !== "string" || params.mountpoint === "") throw new TypeError("startMount: `mountpoint` is required");
	if (params.tree?.kind !== "dir") throw new TypeError("startMount: `tree` must be a ViewDir");
	if (typeof params.storeDir !== "string" || params.storeDir === "") throw new TypeError("startMount: `storeDir` is required");
	const threads = params.threads ?? 4;
	if (!Number.isInteger(threads) || threads < 1 || threads > 16) throw new TypeError("startMount: `threads` must be 1..16");
	const log = params.log ?? (() => {});
	const timeoutMs = params.timeoutMs ?? 30_000;
	const mountpoint = resolve(params.mountpoint);
	const storeDir = resolve(params.storeDir);
	const objectsDir = join(storeDir, "objects");

	assertCanMount({ mountpoint });
	const bin = daemonBinaryPath();
	await checkStore(objectsDir);
	const index = runtimeDirFor({ mountpoint, runRoot: params.runRoot });
	await mkdir(dirname(index), { recursive: true, mode: 0o755 });
	// Two mounts of one mountpoint at once would stack: the second is refused.
	const unlock = await lockMountpoint(`${index}.lock`, mountpoint);
	let runtimeDir: string | null = null;
	let mounted = false;
	try {
		const detachedDeadMount = await clearMountpoint(mountpoint, params.runRoot, log);
		if (params.nonempty !== true) await requireEmpty(mountpoint);
		runtimeDir = join(dirname(index), "instances", `${basename(index)}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`);
		await mkdir(runtimeDir, { recursive: true, mode: 0o755 });
		const imagePath = join(runtimeDir, "view.img");
		const image = await writeViewImage({ root: params.tree, objectsDir, path: imagePath, generation: params.catalogGeneration ?? 0 });
		const record: MountRecord = {
			format: 1,
			mountpoint,
			storeDir,
			objectsDir,
			view: params.view ?? {},
			catalogGeneration: params.catalogGeneration ?? null,
			passthroughRequested: params.passthrough !== false,
			files: image.files,
			fileBytes: image.fileBytes,
			startedAt: new Date().toISOString(),
		};
		await writeFile(join(runtimeDir, "mount.json.tmp"), `${JSON.stringify(record, null, "\t")}\n`);
		await rename(join(runtimeDir, "mount.json.tmp"), join(runtimeDir, "mount.json"));

		const logPath = join(runtimeDir, "daemon.log");
		const args = ["mount", "--image", imagePath, "--rundir", runtimeDir, "--mountpoint", mountpoint, "--threads", String(threads), "--ready-fd", "3"];
		if (params.passthrough === false) args.push("--no-passthrough");
		const env = holderEnv(params.notifySocket);
		let child: ChildProcess;
		if (params.foreground) {
			child = spawn(bin, args, { stdio: ["ignore", "inherit", "inherit", "pipe"], cwd: "/", env });
		} else {
			const logFd = openSync(logPath, "a", 0o644);
			try {
				child = spawn(bin, args, { stdio: ["ignore", logFd, logFd, "pipe"], cwd: "/", detached: true, env });
			} finally {
				closeSync(logFd);
			}
		}
		const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
		exited.catch(() => {});
		const ready = await readReadyLine(child.stdio[3] as Readable, timeoutMs);
		if (ready === null || !ready.startsWith("ok ")) {
			if (child.exitCode === null) child.kill("SIGKILL");
			throw holderError(ready, mountpoint, params.foreground ? null : logPath);
		}
		const holderPid = child.pid as number;
		try {
			await waitForAnswer(mountpoint, timeoutMs, params.foreground ? null : logPath);
		} catch (err) {
			// Leave nothing half-started behind: detach, then end the holder.
			await umountPath({ mountpoint, detach: true }).catch(() => null);
			if (child.exitCode === null) child.kill("SIGKILL");
			throw err;
		}

		if (!params.foreground) child.unref();
		mounted = true;
		await pointIndex(index, runtimeDir);
		await pruneInstances(index, runtimeDir, params.runRoot);
		return {
			mountpoint,
			runtimeDir,
			holderPid,
			image,
			detachedDeadMount,
			exited,
			stop: () => {
				if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
			},
		};
	} finally {
		await unlock();
		// A refused mount leaves no runtime folder behind (the log is in the error).
		if (!mounted && runtimeDir !== null) await rm(runtimeDir, { recursive: true, force: true }).catch(() => {});
	}
}

/**
 * The holder's environment: NOTIFY_SOCKET names the fd store it parks the
 * fds in (systemd's, or a keeper's), so losing every modelfs process does
 * not close the connection.
 */
function holderEnv(notifySocket: string | null | undefined): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = { ...process.env };
	delete env.LISTEN_FDS;
	delete env.LISTEN_PID;
	delete env.LISTEN_FDNAMES;
	const keeper = process.env.MODELFS_FD_KEEPER;
	const socket = notifySocket !== undefined ? notifySocket : (process.env.NOTIFY_SOCKET ?? (keeper ? join(keeper, "notify.sock") : null));
	if (socket) env.NOTIFY_SOCKET = socket;
	else delete env.NOTIFY_SOCKET;
	return env;
}

/** The mountpoint's index link now names this instance (a rename over the old link). */
async function pointIndex(index: string, runtimeDir: string): Promise<void> {
	const tmp = `${index}.${process.pid}.${randomBytes(3).toString("hex")}.link`;
	await symlink(relative(dirname(index), runtimeDir), tmp);
	try {
		await rename(tmp, index);
	} catch (err) {
		// An older modelfs made the index a folder: it stays, as a dead instance.
		if ((err as NodeJS.ErrnoException).code !== "EISDIR" && (err as NodeJS.ErrnoException).code !== "ENOTEMPTY") throw err;
		await rm(tmp, { force: true });
	}
}

/**
 * Removes the runtime folders of earlier instances at this mountpoint that
 * nothing uses any more: no process of theirs runs and their device is
 * mounted in no mount namespace (a container may still hold one: then it
 * stays, and its daemon serves it).
 */
async function pruneInstances(index: string, current: string, runRoot: string | undefined): Promise<void> {
	const prefix = `${basename(index)}-`;
	const old = (await listInstanceDirs({ runRoot })).filter((i) => i.id.startsWith(prefix) && i.dir !== current);
	if (old.length === 0) return;
	const inUse = new Set<string>();
	for (const m of await readMountinfo()) if (m.fstype === "fuse.modelfs") inUse.add(m.majorMinor);
	const devices = old.map((i) => i.majorMinor).filter((d): d is string => d !== null && d !== "0:0");
	for (const ns of (await findMountUsers({ devices })).namespaces) for (const d of ns.devices) inUse.add(d);
	for (const i of old) {
		if (i.majorMinor !== null && inUse.has(i.majorMinor)) continue;
		const pids = await Promise.all(["holder.pid", "daemon.pid"].map((f) => readFile(join(i.dir, f), "utf8").catch(() => "")));
		if (pids.some((p) => Number.parseInt(p, 10) > 0 && isProcessAlive(Number.parseInt(p, 10)))) continue;
		await rm(i.dir, { recursive: true, force: true }).catch(() => undefined);
	}
}

async function checkStore(objectsDir: string): Promise<void> {
	try {
		const st = await stat(objectsDir);
		if (st.isDirectory()) return;
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
	}
	throw new StoreError("STORE_NOT_FOUND", `no store objects folder at ${objectsDir}`, {
		hint: "create the store with `modelfs init`, or point --store / MODELFS_STORE at it",
	});
}

/** A view mounted over files hides them: most likely the wrong folder. */
async function requireEmpty(mountpoint: string): Promise<void> {
	const names = await readdir(mountpoint);
	if (names.length === 0) return;
	throw new MountError("MOUNT_NOT_EMPTY", `mountpoint ${mountpoint} is not empty (${names.length} entries, e.g. ${names.slice(0, 3).join(", ")}): the view would hide them`, {
		path: mountpoint,
		errno: "ENOTEMPTY",
		hint: "mount on an empty folder, or pass --nonempty to hide what is there while the view is mounted",
	});
}

/** Fstypes mounted exactly at `path`, topmost last. */
async function mountsAt(path: string): Promise<string[]> {
	return (await readMountinfo()).filter((m) => m.mountpoint === path).map((m) => m.fstype);
}

/** Detaches dead modelfs mounts at `mountpoint`; refuses live mounts of any kind. */
async function clearMountpoint(mountpoint: string, runRoot: string | undefined, log: (line: string) => void): Promise<boolean> {
	let detached = false;
	for (let round = 0; round < 8; round++) {
		const here = await mountsAt(mountpoint);
		if (here.length > 0) {
			const top = here[here.length - 1];
			if (top === "fuse.modelfs") {
				const known = (await listModelfsMounts({ runRoot })).find((m) => m.mountpoint === mountpoint);
				if (known?.state === "live" || known?.state === "degraded") {
					throw new MountError("MOUNT_BUSY", `${mountpoint} already has a live modelfs view (holder pid ${known.holderPid ?? "?"})`, {
						path: mountpoint,
						errno: "EBUSY",
						hint: `unmount it first: modelfs umount ${mountpoint}`,
					});
				}
				// No daemon, but an fd store may hold the connection: a stat would wait for ever.
				if (known?.state === "parked" && (await probeView({ path: mountpoint, timeoutMs: 1000 })).state !== "dead") {
					throw new MountError("MOUNT_BUSY", `${mountpoint} has a modelfs view whose fds are parked in an fd store (no holder or daemon runs)`, {
						path: mountpoint,
						errno: "EBUSY",
						hint: "take it back with `modelfs up` (under systemd: start the modelfs service), or detach it: modelfs umount --lazy",
					});
				}
			} else {
				throw new MountError("MOUNT_BUSY", `${mountpoint} is already a mount point (${top})`, {
					path: mountpoint,
					errno: "EBUSY",
					hint: `choose an empty folder, or unmount what is there (umount ${mountpoint})`,
				});
			}
		}
		const state = await probeMountpoint(mountpoint);
		if (state === "dead") {
			const err = await umountPath({ mountpoint, detach: true });
			if (err !== null) {
				throw new MountError("MOUNT_DEAD", `${mountpoint} is a dead mount (ENOTCONN) and detaching it failed (${err})`, {
					path: mountpoint,
					errno: err,
					hint: `detach it by hand: umount -l ${mountpoint}`,
				});
			}
			log(`detached a dead mount at ${mountpoint} (its daemon was gone)`);
			detached = true;
			continue;
		}
		if (state === "missing") {
			throw new MountError("MOUNT_NO_MOUNTPOINT", `mountpoint ${mountpoint} does not exist`, {
				path: mountpoint,
				errno: "ENOENT",
				hint: `create it first: mkdir -p ${mountpoint}`,
			});
		}
		if (state === "not-dir") {
			throw new MountError("MOUNT_NOT_DIR", `mountpoint ${mountpoint} is not a directory`, { path: mountpoint, errno: "ENOTDIR", hint: "mount on an empty directory" });
		}
		if (here.length > 0) {
			// A modelfs mount with no runtime folder that still answers.
			throw new MountError("MOUNT_BUSY", `${mountpoint} already has a modelfs view mounted`, {
				path: mountpoint,
				errno: "EBUSY",
				hint: `unmount it first: modelfs umount ${mountpoint}`,
			});
		}
		return detached;
	}
	throw new MountError("MOUNT_BUSY", `${mountpoint} still has mounts stacked on it after detaching 8`, { path: mountpoint, hint: `look at: findmnt ${mountpoint}` });
}

const HOLDER_CODES = new Set<MountErrorCode>(["MOUNT_NOT_ROOT", "MOUNT_NO_FUSE", "MOUNT_BUSY", "MOUNT_BAD_IMAGE", "MOUNT_DAEMON_START", "MOUNT_FAILED"]);

function holderError(line: string | null, mountpoint: string, logPath: string | null): MountError {
	const tail = logPath ? logTail(logPath) : "";
	const seeLog = logPath ? ` (log: ${logPath})` : "";
	if (line === null) {
		return new MountError("MOUNT_FAILED", `the daemon did not mount ${mountpoint}${tail ? `: ${tail}` : ""}`, {
			path: mountpoint,
			hint: `look at the daemon's log${seeLog}`,
		});
	}
	// "err <errno> <CODE> <message>" (native/HOLDER.md)
	const m = /^err (\d+) ([A-Z_]+) (.*)$/.exec(line);
	const errnoNum = m ? Number(m[1]) : 0;
	const code = m && HOLDER_CODES.has(m[2] as MountErrorCode) ? (m[2] as MountErrorCode) : "MOUNT_FAILED";
	const message = m ? m[3] : line;
	const errno = Object.entries(osConstants.errno).find(([, n]) => n === errnoNum)?.[0];
	if (code === "MOUNT_NOT_ROOT") {
		return new MountError("MOUNT_NOT_ROOT", `cannot mount ${mountpoint}: ${message}`, {
			path: mountpoint,
			errno,
			hint: "run as root with CAP_SYS_ADMIN; in a container add --cap-add SYS_ADMIN --device /dev/fuse",
		});
	}
	if (code === "MOUNT_NO_FUSE") {
		return new MountError("MOUNT_NO_FUSE", `cannot mount ${mountpoint}: ${message}`, { path: mountpoint, errno, hint: "load the fuse module (modprobe fuse)" });
	}
	if (code === "MOUNT_BUSY") {
		return new MountError("MOUNT_BUSY", `cannot mount ${mountpoint}: ${message}`, { path: mountpoint, errno, hint: `unmount what is there first` });
	}
	return new MountError(code, `cannot mount ${mountpoint}: ${message}`, { path: mountpoint, errno, hint: `look at the daemon's log${seeLog}` });
}

function logTail(path: string): string {
	try {
		const lines = readFileSync(path, "utf8").trim().split("\n");
		return lines[lines.length - 1]?.replace(/^\S+ modelfs-fused\[\d+\]: /, "") ?? "";
	} catch {
		return "";
	}
}

/** Waits until the kernel lists the mount and its root answers stat (INIT done). */
async function waitForAnswer(mountpoint: string, timeoutMs: number, logPath: string | null): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await mountsAt(mountpoint)).includes("fuse.modelfs")) {
		if (Date.now() > deadline) break;
		await new Promise((r) => setTimeout(r, 20));
	}
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), Math.max(1, deadline - Date.now()))));
	try {
		const result = await Promise.race([stat(mountpoint).then(() => "ok" as const), timeout]);
		if (result === "timeout") {
			throw new MountError("MOUNT_TIMEOUT", `the view at ${mountpoint} did not answer within ${timeoutMs} ms`, {
				path: mountpoint,
				hint: logPath ? `look at the daemon's log: ${logPath}` : "look at the daemon's log above",
			});
		}
	} catch (err) {
		if (err instanceof MountError) throw err;
		throw new MountError("MOUNT_FAILED", `the view at ${mountpoint} does not answer: ${(err as Error).message}`, {
			path: mountpoint,
			errno: (err as NodeJS.ErrnoException).code,
			cause: err,
			hint: logPath ? `look at the daemon's log: ${logPath}` : "look at the daemon's log above",
		});
	} finally {
		clearTimeout(timer);
	}
}

/**
 * Takes `<run root>/<16 hex>.lock` (`<pid> <token>`) for the time of one
 * mount of `mountpoint`; a lock whose process is gone is taken over.
 * Resolves to its release.
 */
async function lockMountpoint(path: string, mountpoint: string): Promise<() => Promise<void>> {
	const mine = `${process.pid} ${randomBytes(8).toString("hex")}\n`;
	for (let attempt = 0; attempt < 3; attempt++) {
		try {
			await writeFile(path, mine, { flag: "wx" });
			return async () => {
				const now = await readFile(path, "utf8").catch(() => "");
				if (now === mine) await rm(path, { force: true });
			};
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
		}
		const holder = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
		if (Number.isInteger(holder) && holder > 0 && isProcessAlive(holder)) {
			throw new MountError("MOUNT_BUSY", `another modelfs mount of ${mountpoint} is under way (pid ${holder})`, {
				path: mountpoint,
				errno: "EBUSY",
				hint: "wait for it to finish, then check with `modelfs status`",
			});
		}
		await rm(path, { force: true });
	}
	throw new MountError("MOUNT_BUSY", `cannot take the mount lock ${path}`, { path: mountpoint, hint: `remove ${path} if no modelfs mount is running` });
}
