import { Command } from "commander";
import { MountError } from "../errors.js";
import { checkTarget } from "../overlay/checkTarget.js";
import { createByteProgress } from "../progress/createByteProgress.js";

/**
 * `modelfs check <target>`: the canary's health check. Every file the view
 * shows must be readable with the right size through the backend's folder.
 */
export function checkCommand(): Command {
	return new Command("check")
		.description("check that every file of the view is readable with the right size through <target>, and that nothing in the upper layer hides one (non-zero exit if not)")
		.argument("<target>", "a backend's cache folder with an overlay on it")
		.option("--lower <dir>", "the view to compare with (default: the lowerdir of the overlay mounted at <target>)")
		.option("--full", "read every byte of every file, not just the first and last block")
		.option("--json", "print the result as JSON")
		.option("--quiet", "no progress bar")
		.action(async (target: string, opts: { lower?: string; full?: boolean; json?: boolean; quiet?: boolean }) => {
			// A full check reads every byte (hundreds of GB on a real node): show how far it is.
			const bar = createByteProgress({ label: "check", total: 0, quiet: opts.quiet || !opts.full });
			let r: Awaited<ReturnType<typeof checkTarget>>;
			try {
				r = await checkTarget({ target, lower: opts.lower, full: opts.full, onBytes: (n) => bar.increment(n) });
			} finally {
				bar.stop();
			}
			if (opts.json) process.stdout.write(`${JSON.stringify(r)}\n`);
			else {
				for (const p of r.problems) process.stdout.write(`FAIL ${p.path}: ${p.problem}\n`);
				process.stdout.write(
					`${r.problems.length === 0 ? "ok" : "FAILED"}: ${r.entries} entries, ${r.files} files (${r.bytes} bytes) read through ${r.target} (view ${r.lower})${r.problems.length ? `, ${r.problems.length} problems` : ""}\n`,
				);
			}
			if (r.problems.length > 0) {
				throw new MountError(
					"CHECK_FAILED",
					`${r.target}: ${r.problems.length} of the view's entries are wrong or unreadable through it (first: ${r.problems[0].path}: ${r.problems[0].problem})`,
					{
						path: r.target,
						hint:
							r.hidden.length > 0
								? `the upper layer hides ${r.hidden.length} of the view's entries: \`modelfs overlay unhide ${r.target}\` shows them again`
								: "a file in the upper layer may shadow the view's copy (modelfs absorb fixes identical ones), or the view's daemon is failing (modelfs stats)",
					},
				);
			}
		});
}
