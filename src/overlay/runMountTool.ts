import { execFile } from "node:child_process";
import { MountError } from "../errors.js";

export interface RunMountToolParams {
	/** `mount` or `umount` (util-linux). */
	tool: "mount" | "umount";
	args: string[];
	/** The path the operation is about, for the message. */
	path: string;
	/** What was being done, e.g. "mount overlayfs". */
	what: string;
}

/**
 * Runs util-linux mount/umount and turns a failure into a MountError that
 * carries the tool's own message (it names the kernel's reason: "target is
 * busy", "wrong fs type", ...). Node has no mount(2) binding; the C daemon
 * mounts FUSE itself, but overlayfs needs nothing beyond the standard tool.
 */
export function runMountTool(params: RunMountToolParams): Promise<void> {
	return new Promise((resolve, reject) => {
		execFile(params.tool, params.args, { encoding: "utf8" }, (err, _stdout, stderr) => {
			if (err === null) return resolve();
			const text = (stderr || err.message).trim().replace(/\s+/g, " ");
			const enoent = (err as NodeJS.ErrnoException).code === "ENOENT";
			const busy = /busy/i.test(text);
			const perm = /permission|only root|must be superuser|EPERM/i.test(text);
			reject(
				new MountError(
					enoent ? "MOUNT_TOOL_MISSING" : busy ? "MOUNT_BUSY" : perm ? "MOUNT_PERMISSION" : "MOUNT_FAILED",
					enoent ? `cannot ${params.what} at ${params.path}: the ${params.tool} command is not installed` : `cannot ${params.what} at ${params.path}: ${text}`,
					{
						path: params.path,
						cause: err,
						errno: busy ? "EBUSY" : perm ? "EPERM" : undefined,
						hint: enoent
							? "install util-linux (it provides mount and umount)"
							: busy
								? `stop the processes that use it (see \`fuser -vm ${params.path}\`), then try again`
								: perm
									? "run as root (overlay mounts need CAP_SYS_ADMIN)"
									: "see `dmesg | tail` for the kernel's reason (overlayfs needs upper and work on one local filesystem that supports xattrs, e.g. ext4 or xfs)",
					},
				),
			);
		});
	});
}
