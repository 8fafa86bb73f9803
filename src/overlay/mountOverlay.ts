import { runMountTool } from "./runMountTool.js";

export interface MountOverlayParams {
	/** Where the overlay is mounted. */
	at: string;
	/** The view: overlayfs's lowerdir. */
	lower: string;
	upper: string;
	/** On upper's filesystem. */
	work: string;
	/** The path an error names. @default `at` */
	path?: string;
	/** What was being done, for an error. @default "mount overlayfs" */
	what?: string;
}

/** Mounts overlayfs (one lower, one upper) at `at`; the callers have checked the paths carry no `,` `:` or `\`. */
export function mountOverlay(params: MountOverlayParams): Promise<void> {
	const options = `lowerdir=${params.lower},upperdir=${params.upper},workdir=${params.work}`;
	return runMountTool({ tool: "mount", args: ["-t", "overlay", "overlay", "-o", options, params.at], path: params.path ?? params.at, what: params.what ?? "mount overlayfs" });
}
