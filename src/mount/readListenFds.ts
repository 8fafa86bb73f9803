export interface ReadListenFdsParams {
	/** @default process.env */
	env?: NodeJS.ProcessEnv;
	/** The pid the fds were meant for. @default process.pid */
	pid?: number;
}

/**
 * The fds systemd passed this process from its file descriptor store
 * (sd_listen_fds(3): `LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`; they
 * start at fd 3), by name: modelfs's holders park each view's /dev/fuse fds
 * there as `modelfs-<instance id>`. The variables are removed from `env`,
 * so no child takes them for its own. Empty when they were not meant for
 * this process.
 */
export function readListenFds(params: ReadListenFdsParams = {}): Map<string, number[]> {
	const env = params.env ?? process.env;
	const out = new Map<string, number[]>();
	const pid = Number(env.LISTEN_PID);
	const n = Number(env.LISTEN_FDS);
	const names = (env.LISTEN_FDNAMES ?? "").split(":");
	delete env.LISTEN_PID;
	delete env.LISTEN_FDS;
	delete env.LISTEN_FDNAMES;
	if (!Number.isInteger(pid) || pid !== (params.pid ?? process.pid) || !Number.isInteger(n) || n <= 0) return out;
	for (let i = 0; i < n; i++) {
		const name = names[i] || "unknown";
		const list = out.get(name);
		if (list) list.push(3 + i);
		else out.set(name, [3 + i]);
	}
	return out;
}
