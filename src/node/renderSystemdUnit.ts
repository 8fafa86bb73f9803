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
}

/**
 * A systemd unit that runs `modelfs up` at boot once the shared volume is
 * mounted and `modelfs down` at stop. `Type=oneshot` with
 * `RemainAfterExit`: `up` returns once every mount answers, while the view
 * daemons keep running in the unit's cgroup. `KillMode=process` so that, if
 * `down` fails (a backend still holds files), systemd does not kill the
 * daemons under a live mount.
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
		`ExecStop=${params.exec} down --config ${q(params.configPath)}`,
		"KillMode=process",
		"TimeoutStartSec=300",
		"TimeoutStopSec=120",
		"",
		"[Install]",
		"WantedBy=multi-user.target",
		"",
	];
	return lines.join("\n");
}
