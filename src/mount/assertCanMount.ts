import { accessSync, constants as fsConstants } from "node:fs";
import { MountError } from "../errors.js";

export interface AssertCanMountParams {
	/** Named in the message. */
	mountpoint: string;
}

/**
 * Throws a MountError with a hint unless this process can mount a FUSE view:
 * root (CAP_SYS_ADMIN) and a usable /dev/fuse. Cheap: commands call it before
 * any other work so the operator sees the real reason first.
 */
export function assertCanMount(params: AssertCanMountParams): void {
	const { mountpoint } = params;
	if (typeof process.getuid === "function" && process.getuid() !== 0) {
		throw new MountError("MOUNT_NOT_ROOT", `mounting a view at ${mountpoint} needs root (CAP_SYS_ADMIN)`, {
			path: mountpoint,
			errno: "EPERM",
			hint: "run it as root (sudo modelfs mount ...); in a container add --cap-add SYS_ADMIN --device /dev/fuse",
		});
	}
	try {
		accessSync("/dev/fuse", fsConstants.R_OK | fsConstants.W_OK);
	} catch (err) {
		throw new MountError("MOUNT_NO_FUSE", `/dev/fuse is not available (${(err as NodeJS.ErrnoException).code ?? "error"})`, {
			path: "/dev/fuse",
			errno: (err as NodeJS.ErrnoException).code,
			cause: err,
			hint: "load the fuse module (modprobe fuse); in a container pass --device /dev/fuse",
		});
	}
}
