export interface RenderSystemdUnitParams {
	/** The command that runs modelfs, absolute (e.g. `/usr/local/bin/modelfs` or `/usr/bin/node /opt/modelfs/dist/cli.js`). */
	exec: string;
	/** The config file `up`/`down` read. */
	configPath: string;
	/**
	 * Paths that must be mounted first: the store on the shared volume, the
	 * views' mount points and the backends' folders (systemd adds Requires=
	 * and After= on the mount units that hold them).
	 */
	requiresMountsFor: string[];
	/** Extra units to start after (e.g. `nvmf-connect.service`, `remote-fs.target`). */
	after?: string[];
	/** Units that must start after modelfs (e.g. `docker.service`, so backends find their folders ready). */
	before?: string[];
	/**
	 * `systemctl stop` runs `modelfs down` (overlays and views go, refused
	 * while a backend holds them). Without it stop and restart leave every
	 * view serving. @default false
	 */
	downOnStop?: boolean;
}

/**
 * A systemd unit that runs `modelfs up` at boot once the shared volume is
 * mounted. `Type=oneshot` with `RemainAfterExit`: `up` returns once every
 * mount answers, while the holders and daemons keep running in the unit's
 * cgroup. `KillMode=process`: stopping or restarting the unit kills none of
 * them, so running backends never lose a view; a restart runs `up` again,
 * which refreshes views in place and restarts those on another
 * modelfs-fused version (an upgrade). Each holder parks its /dev/fuse fds in
 * the unit's file descriptor store (`NotifyAccess=all`,
 * `FileDescriptorStoreMax=`, kept across stops with
 * `FileDescriptorStorePreserve=yes`), so even if every process of the unit
 * is killed the connections live on, and the next `up` takes them back
 * from `LISTEN_FDS`.
 */
export function renderSystemdUnit(params: RenderSystemdUnitParams): string {
	const q = (s: string) => (/[\s"\\]/.test(s) ? `"${s.replace(/(["\\])/g, "\\$1")}"` : s);
	const after = ["network-online.target", "local-fs.target", "remote-fs.target", ...(params.after ?? [])];
	const lines = [
		"# Written by `modelfs systemd-unit`. Install:",
		"#   modelfs systemd-unit > /etc/systemd/system/modelfs.service",
		"#   systemctl daemon-reload && systemctl enable --now modelfs.service",
		"[Unit]",
		"Description=modelfs: read-only model views and overlays under the backends' cache folders",
		"Documentation=https://github.com/modelfs/modelfs#readme",
		"Wants=network-online.target",
		`After=${after.join(" ")}`,
		...(params.before && params.before.length > 0 ? [`Before=${params.before.join(" ")}`] : []),
		...params.requiresMountsFor.map((p) => `RequiresMountsFor=${q(p)}`),
		"",
		"[Service]",
		"Type=oneshot",
		"RemainAfterExit=yes",
		`Environment=MODELFS_CONFIG=${q(params.configPath)}`,
		`ExecStart=${params.exec} up --config ${q(params.configPath)}`,
		...(params.downOnStop === true
			? [`ExecStop=${params.exec} down --config ${q(params.configPath)}`]
			: ["# No ExecStop: stop and restart leave the views serving; `modelfs down` takes them down."]),
		"KillMode=process",
		"NotifyAccess=all",
		"FileDescriptorStoreMax=512",
		"# systemd 254 and later; older ones ignore it (the store then empties when the unit stops)",
		"FileDescriptorStorePreserve=yes",
		"TimeoutStartSec=300",
		"TimeoutStopSec=120",
		"",
		"[Install]",
		"WantedBy=multi-user.target",
		"",
	];
	return lines.join("\n");
}
