import { readdir, readlink } from "node:fs/promises";
import { type MountinfoEntry, readMountinfo } from "./readMountinfo.js";

export interface FindMountUsersParams {
	/**
	 * Filesystems by `major:minor` (mountinfo's third field, the same in
	 * every copy of a mount): mount namespaces other than this one that
	 * still hold a mount of one of them are reported.
	 */
	devices?: string[];
	/**
	 * Folders (absolute, as this namespace sees them): processes with an
	 * open file, a working directory or a root under one are reported.
	 * Costs a readlink per open fd of every process. @default []
	 */
	paths?: string[];
	/** @default "/proc" */
	proc?: string;
}

export interface MountNamespaceUse {
	/** The namespace, as `/proc/<pid>/ns/mnt` names it (`mnt:[4026532...]`). */
	namespace: string;
	/** Its processes (a running container's). */
	pids: number[];
	/** Where it has the filesystem mounted, in its own paths. */
	mountpoints: string[];
	/** The filesystems of `devices` it holds. */
	devices: string[];
}

export interface MountUsers {
	/** Other mount namespaces holding a copy of one of `devices`. */
	namespaces: MountNamespaceUse[];
	/** Processes using a folder of `paths`: pid -> what (`fd`, `cwd`, `root`). */
	processes: Array<{ pid: number; how: string; path: string }>;
}

/**
 * Who still uses a mount: a container started with Docker's default
 * `rprivate` bind has its own copy of the mounts, which no unmount on the
 * host reaches, and keeps the view's daemon serving it. Reads /proc only
 * (mountinfo once per namespace); never touches the mounts themselves.
 */
export async function findMountUsers(params: FindMountUsersParams = {}): Promise<MountUsers> {
	const proc = params.proc ?? "/proc";
	const devices = new Set(params.devices ?? []);
	const paths = params.paths ?? [];
	const self = await readlink(`${proc}/self/ns/mnt`).catch(() => "");
	const pids = (await readdir(proc)).filter((n) => /^\d+$/.test(n)).map(Number);
	const byNs = new Map<string, number[]>();
	for (const pid of pids) {
		const ns = await readlink(`${proc}/${pid}/ns/mnt`).catch(() => null);
		if (ns === null) continue;
		const list = byNs.get(ns);
		if (list) list.push(pid);
		else byNs.set(ns, [pid]);
	}
	const namespaces: MountNamespaceUse[] = [];
	if (devices.size > 0) {
		for (const [ns, members] of byNs) {
			if (ns === self) continue;
			let mounts: MountinfoEntry[] | null = null;
			for (const pid of members) {
				mounts = await readMountinfo({ path: `${proc}/${pid}/mountinfo` }).catch(() => null);
				if (mounts !== null) break;
			}
			const held = (mounts ?? []).filter((m) => devices.has(m.majorMinor));
			if (held.length === 0) continue;
			namespaces.push({
				namespace: ns,
				pids: members.sort((a, b) => a - b),
				mountpoints: [...new Set(held.map((m) => m.mountpoint))],
				devices: [...new Set(held.map((m) => m.majorMinor))],
			});
		}
	}
	const processes: MountUsers["processes"] = [];
	if (paths.length > 0) {
		const under = (p: string) => paths.some((dir) => p === dir || p.startsWith(`${dir}/`));
		for (const pid of pids) {
			if (pid === process.pid) continue;
			for (const how of ["cwd", "root"]) {
				const p = await readlink(`${proc}/${pid}/${how}`).catch(() => null);
				if (p !== null && under(p)) processes.push({ pid, how, path: p });
			}
			const fds = await readdir(`${proc}/${pid}/fd`).catch(() => [] as string[]);
			for (const fd of fds) {
				const p = await readlink(`${proc}/${pid}/fd/${fd}`).catch(() => null);
				if (p !== null && under(p)) {
					processes.push({ pid, how: "fd", path: p });
					break;
				}
			}
		}
	}
	return { namespaces, processes };
}
