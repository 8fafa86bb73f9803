import { realpath } from "node:fs/promises";
import { Command } from "commander";
import { listModelfsMounts } from "../mount/listModelfsMounts.js";
import { listOverlayMounts } from "../overlay/listOverlayMounts.js";
import { overlayDown } from "../overlay/overlayDown.js";
import { overlayUp } from "../overlay/overlayUp.js";
import { unhideOverlay } from "../overlay/unhideOverlay.js";
import { createByteProgress } from "../progress/createByteProgress.js";
import { formatBytes } from "../progress/formatBytes.js";

/**
 * `modelfs overlay up|down|unhide`: put the read-only view under a backend's
 * unchanged cache folder with overlayfs, take it away again (keeping the
 * view's files as real copies with --materialize), and show view entries a
 * delete through the overlay hid.
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
		.description("unmount the overlay at <target>; --restore puts the upper layer's files back as plain files, --materialize also the view's")
		.argument("<target>", "the folder the overlay is on")
		.option("--restore", "move the upper layer's files back into <target> and drop modelfs's upper/work for it")
		.option("--materialize", "roll back: copy every file <target> shows from the view into it as a real file (reflink where possible), then --restore")
		.option("--store <dir>", "with --materialize: the store the view serves, to reflink its blobs (default: the store of the modelfs view the overlay stands on)")
		.option("--state-dir <dir>", "modelfs's node-local state folder (default: $MODELFS_STATE_DIR, else /var/lib/modelfs)")
		.option("--json", "print the result as JSON")
		.addHelpText(
			"after",
			"\nWithout --materialize the folder keeps only what was written to it (and with --restore, what it held before):\n" +
				"the model files came from the view, so a backend started on it without modelfs will not find them; down says\n" +
				"how many. --materialize checks free space on the folder's filesystem first (nothing is changed if it does\n" +
				"not fit), copies from the store's blobs with FICLONE where the filesystem shares extents (XFS, btrfs), else\n" +
				"byte for byte, and leaves a folder that works with the view unmounted. The overlay must not be busy.",
		)
		.option("--quiet", "no progress bar")
		.action(async (target: string, opts: { restore?: boolean; materialize?: boolean; store?: string; stateDir?: string; json?: boolean; quiet?: boolean }) => {
			const storeDir = opts.store ?? (opts.materialize ? await storeUnder(target) : undefined);
			const bar = createByteProgress({ label: "materialize", total: 0, quiet: opts.quiet || !opts.materialize });
			let r: Awaited<ReturnType<typeof overlayDown>>;
			try {
				r = await overlayDown({
					target,
					restore: opts.restore,
					materialize: opts.materialize,
					storeDir,
					stateDir: opts.stateDir,
					onTotal: (bytes) => bar.setTotal(bytes),
					onProgress: (bytes) => bar.increment(bytes),
				});
			} finally {
				bar.stop();
			}
			if (r.viewProvided && r.viewProvided.files > 0) {
				process.stderr.write(
					`modelfs: warning: ${r.target} no longer shows the ${r.viewProvided.files} files (${formatBytes(r.viewProvided.bytes)}) the view provided; ` +
						"a backend started on it without modelfs will not find them (overlay down --materialize keeps real copies)\n",
				);
			}
			if (opts.json) {
				process.stdout.write(`${JSON.stringify(r)}\n`);
				return;
			}
			process.stdout.write(`${r.target}: ${r.wasMounted ? "overlay unmounted" : "no overlay was mounted"}\n`);
			const m = r.materialized;
			if (m) {
				const reflinked = m.reflinkedFiles > 0 ? `, ${m.reflinkedFiles} of them reflinked (${m.reflinkedBytes} bytes share the store's extents)` : "";
				process.stdout.write(`materialized ${m.files} files (${m.bytes} bytes, ${formatBytes(m.bytes)}), ${m.symlinks} symlinks and ${m.dirs} folders from the view${reflinked}\n`);
			}
			if (r.restored) process.stdout.write(`restored ${r.restored.files} files (${r.restored.bytes} bytes) from ${r.upper}\n`);
		});
	cmd
		.command("unhide")
		.description("show again the view entries the upper layer hides (whiteouts and opaque folders left by deletes through the overlay)")
		.argument("<target>", "the folder the overlay is on")
		.argument("[paths...]", "only these (relative to <target>) and what is below them; default: everything hidden")
		.option("--dry-run", "only list what is hidden")
		.option("--state-dir <dir>", "modelfs's node-local state folder (default: $MODELFS_STATE_DIR, else /var/lib/modelfs)")
		.option("--json", "print the result as JSON")
		.addHelpText(
			"after",
			"\nA delete through the overlay (`hf cache rm`, `rm -r` of a model folder) cannot remove the view's read-only\n" +
				"files: overlayfs records a whiteout in the upper layer instead, and the model stays hidden from that backend\n" +
				"for good (`modelfs check` lists it). unhide removes those whiteouts and makes re-created folders plain again,\n" +
				"so the view's files show through; files the backend wrote itself stay. A mounted overlay is unmounted and\n" +
				"mounted again around the change, so it must not be busy.",
		)
		.action(async (target: string, paths: string[], opts: { dryRun?: boolean; stateDir?: string; json?: boolean }) => {
			const r = await unhideOverlay({ target, paths, dryRun: opts.dryRun, stateDir: opts.stateDir });
			if (opts.json) {
				process.stdout.write(`${JSON.stringify(r)}\n`);
				return;
			}
			for (const h of r.unhidden) {
				const what = h.kind === "whiteout" ? `whiteout over a ${h.hides}` : `opaque folder over ${h.hiddenEntries} entries`;
				process.stdout.write(`${r.dryRun ? "hidden" : "unhidden"} ${h.path} (${what})\n`);
			}
			for (const h of r.stillHidden) process.stderr.write(`modelfs: ${h.path} is still hidden after the remount\n`);
			process.stdout.write(`${r.dryRun ? "would unhide" : "unhid"} ${r.unhidden.length} ${r.unhidden.length === 1 ? "entry" : "entries"} in ${r.target}\n`);
		});
	return cmd;
}

/** The store of the modelfs view the overlay at `target` stands on, from the view's mount record; undefined if none. */
async function storeUnder(target: string): Promise<string | undefined> {
	const overlay = (await listOverlayMounts({ target: await realpath(target).catch(() => target) })).at(-1);
	const lower = overlay?.lower[0];
	if (lower === undefined) return undefined;
	const view = (await listModelfsMounts({}).catch(() => []))
		.filter((m) => lower === m.mountpoint || lower.startsWith(`${m.mountpoint}/`))
		.sort((a, b) => b.mountpoint.length - a.mountpoint.length)[0];
	return view?.record?.storeDir;
}
