import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchSession } from "./BenchSession.js";

export interface HoldPageReportingParams {
	session: BenchSession;
	/** Milliseconds a freed page must stay free before it is reported to the host. @default 60000 (the most this kernel takes) */
	holdMs?: number;
	/** @default /sys */
	sysRoot?: string;
	/** Told what was held. @default silent */
	log?: (line: string) => void;
}

/** What holdPageReporting set: the hold and the value it replaced. */
export interface PageReportingHold {
	minFreeMs: number;
	was: number;
}

/**
 * On a VM whose balloon device reports free memory to the host (virtio
 * free page reporting), memory freed by drop_caches is given back to the
 * host in 2 MiB blocks a few seconds later, and the guest's first touch of
 * such a block costs the host a fault. Page cache in 2 MiB folios (what
 * prefetch and large reads make) is taken from exactly those blocks, so a
 * cold run that follows a long one (a 20 s throttled run) starts from
 * memory the host took back, and one that follows a short one does not:
 * on this project's build VM an mmap walk with prefetch took 0.96-1.02 s
 * after a 20 s run (0.79-0.83 s of it the loader's user time, touching
 * pages) against 0.20-0.24 s after a short one. Where the kernel's
 * page_reporting module has `min_free_ms`, this sets it for the run, so
 * pages freed by the last drop_caches are not reported before the next run
 * uses them and every cold run starts from the same memory, and puts the
 * old value back at cleanup. Returns null where there is no such knob (no
 * reporting, or a kernel without the parameter): nothing to hold.
 */
export function holdPageReporting(params: HoldPageReportingParams): PageReportingHold | null {
	const file = join(params.sysRoot ?? "/sys", "module", "page_reporting", "parameters", "min_free_ms");
	if (!existsSync(file)) return null;
	const holdMs = params.holdMs ?? 60_000;
	if (!Number.isInteger(holdMs) || holdMs <= 0) throw new TypeError(`holdMs: expected a positive integer, got ${holdMs}`);
	const was = Number(readFileSync(file, "utf8").trim());
	if (was >= holdMs) return { minFreeMs: was, was };
	writeFileSync(file, `${holdMs}\n`);
	params.session.defer(`page_reporting min_free_ms back to ${was}`, () => writeFileSync(file, `${was}\n`));
	params.log?.(`free page reporting: pages freed less than ${holdMs / 1000} s ago are not given back to the host during the run (min_free_ms was ${was})`);
	return { minFreeMs: holdMs, was };
}
