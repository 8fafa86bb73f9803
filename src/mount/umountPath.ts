import { execFile } from "node:child_process";
import { constants } from "node:os";
import { daemonBinaryPath } from "./daemonBinaryPath.js";

export interface UmountPathParams {
	mountpoint: string;
	/** MNT_DETACH: detach now, end when the last user is gone. @default false */
	detach?: boolean;
}

/**
 * umount2(2) through `modelfs-fused umount` (Node has no binding for it).
 * Resolves to null on success, else to the errno name (EBUSY, EINVAL,
 * EPERM...) for the caller to turn into a message.
 */
export function umountPath(params: UmountPathParams): Promise<string | null> {
	const bin = daemonBinaryPath();
	const args = ["umount", ...(params.detach ? ["--detach"] : []), params.mountpoint];
	return new Promise((resolve, reject) => {
		execFile(bin, args, { timeout: 60_000 }, (err) => {
			if (!err) return resolve(null);
			const code = (err as { code?: unknown }).code;
			if (typeof code !== "number") return reject(err);
			const name = Object.entries(constants.errno).find(([, n]) => n === code)?.[0];
			resolve(name ?? `errno ${code}`);
		});
	});
}
