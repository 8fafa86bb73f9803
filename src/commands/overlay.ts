import { Command } from "commander";
import { overlayDown } from "../overlay/overlayDown.js";
import { overlayUp } from "../overlay/overlayUp.js";

/**
 * `modelfs overlay up|down`: put the read-only view under a backend's
 * unchanged cache folder with overlayfs, and take it away again.
 */
export function overlayCommand(): Command {
	const cmd = new Command("overlay").description("put a view under a backend's cache folder with overlayfs (writes stay local)");
	// `modelfs overlay <target> --lower <view>` (DESIGN.md's spelling) is `overlay up`.
	cmd
		.command("up", { isDefault: true })
		.description("mount overlayfs at <target> with the view as lowerdir; what <target> held moves into the upper layer and stays visible")
		.argument("<target>", "the backend's cache folder, e.g. ~/spark-vllm-docker/cache")
		.requiredOption("--lower <dir>", "the view to show underneath (a `modelfs mount` mount point, or a subfolder of it)")
		.option("--create", "create <target> if it does not exist (without it a missing target is an error)")
		.option("--any-lower", "accept a --lower that is not in a live modelfs view (a plain folder)")
		.option("--upper <dir>", "node-local writable layer (default: <state dir>/overlay/<hash of target>/upper)")
		.option("--work <dir>", "overlayfs work folder, on the same filesystem as --upper (default: beside the default upper)")
		.option("--state-dir <dir>", "modelfs's node-local state folder (default: $MODELFS_STATE_DIR, else /var/lib/modelfs)")
		.option("--json", "print the result as JSON")
		.action(async (target: string, opts: { lower: string; create?: boolean; anyLower?: boolean; upper?: string; work?: string; stateDir?: string; json?: boolean }) => {
			const r = await overlayUp({ target, create: opts.create, lower: opts.lower, anyLower: opts.anyLower, upper: opts.upper, work: opts.work, stateDir: opts.stateDir });
			if (opts.json) {
				process.stdout.write(`${JSON.stringify(r)}\n`);
				return;
			}
			if (r.alreadyMounted) {
				process.stdout.write(`${r.target}: already mounted (lower ${r.lower}, upper ${r.upper})\n`);
				return;
			}
			process.stdout.write(`${r.target}: overlay mounted (lower ${r.lower}, upper ${r.upper})\n`);
			if (r.moved.files > 0) process.stdout.write(`moved ${r.moved.files} existing files (${r.moved.bytes} bytes) into upper; they stay visible\n`);
			for (const c of r.moved.conflicts) process.stderr.write(`modelfs: ${c}: upper held a different copy; it was set aside under ${r.upper}/../conflicts/\n`);
		});
	cmd
		.command("down")
		.description("unmount the overlay at <target>; --restore puts the upper layer's files back as plain files")
		.argument("<target>", "the folder the overlay is on")
		.option("--restore", "move the upper layer's files back into <target> and drop modelfs's upper/work for it")
		.option("--state-dir <dir>", "modelfs's node-local state folder (default: $MODELFS_STATE_DIR, else /var/lib/modelfs)")
		.option("--json", "print the result as JSON")
		.action(async (target: string, opts: { restore?: boolean; stateDir?: string; json?: boolean }) => {
			const r = await overlayDown({ target, restore: opts.restore, stateDir: opts.stateDir });
			if (opts.json) {
				process.stdout.write(`${JSON.stringify(r)}\n`);
				return;
			}
			process.stdout.write(`${r.target}: ${r.wasMounted ? "overlay unmounted" : "no overlay was mounted"}\n`);
			if (r.restored !== null) process.stdout.write(`restored ${r.restored.files} files (${r.restored.bytes} bytes) from ${r.upper}\n`);
		});
	return cmd;
}
