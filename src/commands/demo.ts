import { Command, InvalidArgumentError } from "commander";
import { runDemo } from "../demo/runDemo.js";

interface DemoOptions {
	size: number;
	keep?: boolean;
	json?: boolean;
}

/**
 * `modelfs demo`: the whole path, offline, in a temporary folder (see
 * src/demo/runDemo.ts); prints each step, or the figures with --json.
 */
export function demoCommand(): Command {
	return new Command("demo")
		.description("see it work, offline, as root: hub emulator -> ingest -> store -> FUSE view -> overlay under a backend folder -> offline load")
		.option("--size <MiB>", "size of the generated weights (two safetensors shards)", mib, 64)
		.option("--keep", "leave the temporary folder (store, upper layer) behind for a look; mounts are still taken down")
		.option("--json", "print the figures as JSON")
		.action(async (opts: DemoOptions) => {
			const report = await runDemo({
				sizeMiB: opts.size,
				keep: opts.keep === true,
				say: opts.json ? undefined : (line) => process.stdout.write(`${line}\n`),
				warn: (line) => process.stderr.write(`modelfs: ${line}\n`),
			});
			if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
		});
}

function mib(value: string): number {
	const n = Number(value);
	// Each shard is built in memory (makeSafetensors returns a Buffer).
	if (!Number.isInteger(n) || n < 1 || n > 4096) throw new InvalidArgumentError("expected a size in MiB from 1 to 4096");
	return n;
}
