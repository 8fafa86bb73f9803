import { describe, expect, it } from "vitest";
import { formatPrometheusMetrics } from "../../src/metrics/formatPrometheusMetrics.js";
import type { MountStats } from "../../src/mount/MountTypes.js";

const stats: MountStats = {
	startedAt: "2026-01-01T00:00:00.000Z",
	holderPid: 10,
	daemonPid: 11,
	passthrough: true,
	daemonStarts: 2,
	holderStarts: 1,
	holderVersion: "0.1.0+test",
	daemonVersion: "0.1.0+test",
	holderStartedAt: "2026-01-01T00:00:00.000Z",
	daemonStartedAt: "2026-01-01T00:00:00.000Z",
	majorMinor: "0:50",
	generation: 3,
	imageId: "0000000000000001",
	refreshes: 0,
	lastRefreshAt: null,
	lastRefreshSeconds: 0,
	parked: false,
	protocolMinor: 40,
	threads: 4,
	opens: 5,
	passthroughOpens: 4,
	fallbackOpens: 1,
	fallbackReads: 3,
	fallbackBytes: 4096,
	blobErrors: 1,
	prefetches: 0,
	prefetchBytes: 0,
	prefetchResidentBytes: 0,
	backingOpenFailures: 0,
	backingIdsOpen: 2,
	negativeLookups: 0,
	interrupts: 0,
	resentDuplicates: 0,
	requests: { LOOKUP: 7, OPEN: 5 },
	errors: { EIO: 1 },
	latency: { bucketsSeconds: [1e-5, 1e-4, Infinity], counts: [3, 2, 1], sumSeconds: 0.5, count: 6 },
};

describe("formatPrometheusMetrics", () => {
	it("writes counters, a cumulative histogram and device and NVMe series with escaped labels", () => {
		const text = formatPrometheusMetrics({
			samples: [
				{
					mountpoint: '/srv/"v"',
					stats,
					device: {
						device: "nvme0n1",
						disk: "nvme0n1",
						majorMinor: "259:0",
						readsCompleted: 9,
						readsMerged: 0,
						readBytes: 1024,
						readTimeMs: 1500,
						writesCompleted: 0,
						writesMerged: 0,
						writtenBytes: 0,
						writeTimeMs: 0,
						ioInProgress: 0,
						ioTimeMs: 0,
						weightedIoTimeMs: 0,
						nvmeControllers: [{ name: "nvme0", state: "resetting", transport: "rdma", address: null, model: null }],
					},
				},
			],
		});
		const mp = 'mountpoint="/srv/\\"v\\""';
		expect(text).toContain("# TYPE modelfs_passthrough_opens_total counter\n");
		expect(text).toContain(`modelfs_passthrough_opens_total{${mp}} 4\n`);
		expect(text).toContain(`modelfs_requests_total{${mp},op="LOOKUP"} 7\n`);
		expect(text).toContain(`modelfs_errors_total{${mp},errno="EIO"} 1\n`);
		expect(text).toContain("# TYPE modelfs_request_duration_seconds histogram\n");
		expect(text).toContain(`modelfs_request_duration_seconds_bucket{${mp},le="0.0001"} 5\n`);
		expect(text).toContain(`modelfs_request_duration_seconds_bucket{${mp},le="+Inf"} 6\n`);
		expect(text).toContain(`modelfs_request_duration_seconds_count{${mp}} 6\n`);
		expect(text).toContain(`modelfs_store_device_read_time_seconds_total{${mp},device="nvme0n1"} 1.5\n`);
		expect(text).toContain(`modelfs_nvme_controller_live{${mp},device="nvme0n1",controller="nvme0",state="resetting",transport="rdma"} 0\n`);
		// Every sample line belongs to a family announced before it.
		let family = "";
		for (const line of text.trim().split("\n")) {
			if (line.startsWith("# TYPE ")) family = line.split(" ")[2];
			else if (!line.startsWith("# HELP ")) expect(line.startsWith(family)).toBe(true);
		}
	});

	it("reports a mount whose stats file is gone as down", () => {
		expect(formatPrometheusMetrics({ samples: [{ mountpoint: "/m", stats: null, device: null }] })).toContain('modelfs_up{mountpoint="/m"} 0\n');
	});
});
