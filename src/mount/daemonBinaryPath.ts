import { accessSync, constants } from "node:fs";
import { fileURLToPath } from "node:url";
import { MountError } from "../errors.js";

/**
 * Path of the `modelfs-fused` executable: `$MODELFS_FUSED`, else
 * `native/build/modelfs-fused` of this package (src/mount and dist/mount are
 * both two levels below the package root). Throws when it is not built.
 */
export function daemonBinaryPath(): string {
	const path = process.env.MODELFS_FUSED || fileURLToPath(new URL("../../native/build/modelfs-fused", import.meta.url));
	try {
		accessSync(path, constants.X_OK);
	} catch (err) {
		throw new MountError("MOUNT_NO_DAEMON", `the FUSE daemon ${path} is not built`, {
			path,
			cause: err,
			hint: "build it with `npm install` (runs `make -C native`; needs cc and make)",
		});
	}
	return path;
}
