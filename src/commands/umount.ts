import { Command, InvalidArgumentError } from "commander";
import { stopMount } from "../mount/stopMount.js";

/** `modelfs umount <mountpoint>`: unmount a view and wait for its daemon to end. */
export function umountCommand(): Command {
	return new Command("umount")
		.description("unmount a modelfs view and wait until its daemon has exited")
		.argument("<mountpoint>", "where the view is mounted")
		.option("--lazy", "detach it even if files are open; the daemon ends when the last one closes")
		.option(
			"--timeout <seconds>",
			"how long to wait for the daemon to exit",
			(v: string) => {
				const n = Number(v);
				if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a positive number of seconds");
				return n;
			},
			10,
		)
		.option("--json", "print {mountpoint, wasDead, stillRunning, otherNamespaces} as JSON")
		.action(async (mountpoint: string, opts: { lazy?: boolean; timeout: number; json?: boolean }) => {
			const stopped = await stopMount({ mountpoint, lazy: opts.lazy === true, timeoutMs: opts.timeout * 1000 });
			if (opts.json) {
				process.stdout.write(`${JSON.stringify(stopped)}\n`);
				return;
			}
			const pids = stopped.otherNamespaces.flatMap((n) => n.pids);
			if (pids.length > 0) {
				process.stdout.write(
					`unmounted ${stopped.mountpoint} here; processes in other mount namespaces (pids ${pids.join(", ")}: running containers) still read through it, and its daemon keeps serving them until they let go\n`,
				);
				return;
			}
			if (stopped.stillRunning.length > 0) {
				process.stderr.write(`modelfs: ${stopped.mountpoint} detached; its daemon ends when the last open file closes\n`);
			}
			process.stdout.write(`unmounted ${stopped.mountpoint}${stopped.wasDead ? " (it was dead: detached)" : ""}\n`);
		});
}
