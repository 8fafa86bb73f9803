import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchSession } from "./BenchSession.js";
import type { DiskId } from "./BenchTypes.js";
import { Unavailable } from "./Unavailable.js";

export interface CreateThrottleGroupsParams {
	session: BenchSession;
	/** The whole disk to limit, `major:minor` (blkio takes whole disks, not partitions). */
	diskMajorMinor: string;
	/** Read requests per second allowed in the throttled group. @default no limit */
	readIops?: number;
	/** Read bytes per second allowed in the throttled group. @default no limit */
	readBps?: number;
	/** The cgroup v1 blkio hierarchy. @default /sys/fs/cgroup/blkio */
	root?: string;
	/** Prefix of the two groups' names. @default modelfs-bench-<pid> */
	name?: string;
}

/** Two blkio cgroups: the plain device and the throttled one, for the loader and the daemons. */
export interface ThrottleGroups {
	/** The group of each disk, where a loader writes its pid (LOADGEN_CGROUP). */
	dir: Record<DiskId, string>;
	/** Moves processes (with all their threads) into the group of `disk`. */
	place(pids: number[], disk: DiskId): void;
	/** Bios and bytes the group has been charged on the disk so far (blkio.throttle.io_serviced / io_service_bytes). */
	counters(disk: DiskId): { ios: number; bytes: number };
}

/**
 * Makes two cgroups under the blkio hierarchy: `<name>-plain` with no limit
 * and `<name>-throttled` with `blkio.throttle.read_iops_device` and/or
 * `read_bps_device` set on the disk, standing in for a shared volume with
 * few or slow requests. The plain group has no limit but is there so both
 * kinds of run are counted the same way (blkio counts a group's bios once
 * any limit is set on the disk). At cleanup every process still in them goes
 * back to the group it came from and both are removed.
 */
export function createThrottleGroups(params: CreateThrottleGroupsParams): ThrottleGroups {
	const root = params.root ?? "/sys/fs/cgroup/blkio";
	if (!existsSync(join(root, "blkio.throttle.read_iops_device"))) {
		throw new Unavailable(`no cgroup v1 blkio throttling at ${root} (blkio.throttle.read_iops_device): the throttled volume cannot be made here`);
	}
	if (!/^\d+:\d+$/.test(params.diskMajorMinor)) throw new TypeError(`diskMajorMinor: expected major:minor, got ${JSON.stringify(params.diskMajorMinor)}`);
	if (params.readIops === undefined && params.readBps === undefined) throw new TypeError("createThrottleGroups: give readIops or readBps");
	const name = params.name ?? `modelfs-bench-${process.pid}`;
	const dir: Record<DiskId, string> = { plain: join(root, `${name}-plain`), throttled: join(root, `${name}-throttled`) };
	// Where each process we move came from, to put it back.
	const origin = new Map<number, string>();
	for (const d of Object.values(dir)) {
		params.session.defer(`remove cgroup ${d}`, () => removeGroup(d, root, origin));
		mkdirSync(d);
	}
	const dev = params.diskMajorMinor;
	if (params.readIops !== undefined) writeFileSync(join(dir.throttled, "blkio.throttle.read_iops_device"), `${dev} ${params.readIops}\n`);
	if (params.readBps !== undefined) writeFileSync(join(dir.throttled, "blkio.throttle.read_bps_device"), `${dev} ${params.readBps}\n`);
	return {
		dir,
		place(pids, disk) {
			for (const pid of pids) {
				if (!origin.has(pid)) origin.set(pid, blkioGroupOf(pid, root));
				writeFileSync(join(dir[disk], "cgroup.procs"), `${pid}\n`);
			}
		},
		counters(disk) {
			return { ios: readCounter(join(dir[disk], "blkio.throttle.io_serviced"), dev), bytes: readCounter(join(dir[disk], "blkio.throttle.io_service_bytes"), dev) };
		},
	};
}

/** The blkio group of a process, from /proc/<pid>/cgroup (`N:blkio:/path`). */
function blkioGroupOf(pid: number, root: string): string {
	const line = readFileSync(`/proc/${pid}/cgroup`, "utf8")
		.split("\n")
		.find((l) => l.split(":")[1]?.split(",").includes("blkio"));
	return join(root, line?.split(":").slice(2).join(":") ?? "/");
}

/** `254:0 Read 123` of a blkio.throttle.io_service* file. */
function readCounter(path: string, dev: string): number {
	const line = readFileSync(path, "utf8")
		.split("\n")
		.find((l) => l.startsWith(`${dev} Read `));
	return line ? Number(line.split(" ")[2]) : 0;
}

function removeGroup(dir: string, root: string, origin: Map<number, string>): void {
	if (!existsSync(dir)) return;
	const procs = join(dir, "cgroup.procs");
	const pids = existsSync(procs) ? readFileSync(procs, "utf8").split("\n").filter(Boolean).map(Number) : [];
	for (const pid of pids) {
		try {
			writeFileSync(join(origin.get(pid) ?? root, "cgroup.procs"), `${pid}\n`);
		} catch {
			// It exited meanwhile.
		}
	}
	rmdirSync(dir);
}
