import { open } from "node:fs/promises";

/** fsyncs a directory so a rename or link into it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
	const fh = await open(dir, "r");
	try {
		await fh.sync();
	} catch (err) {
		// Some filesystems (and some network ones) refuse fsync on a directory.
		const code = (err as NodeJS.ErrnoException).code;
		if (code !== "EINVAL" && code !== "ENOTSUP" && code !== "EBADF") throw err;
	} finally {
		await fh.close();
	}
}
