import type { MountStats } from "../mount/MountTypes.js";
import type { BlockDeviceStats } from "../system/readBlockDeviceStats.js";

export interface MetricsSample {
	mountpoint: string;
	/** The daemon's counters, or null when its stats file is gone. */
	stats: MountStats | null;
	/** The store device's counters, or null when it has no block device. */
	device: BlockDeviceStats | null;
}

export interface FormatPrometheusMetricsParams {
	samples: MetricsSample[];
}

/**
 * The Prometheus text exposition (version 0.0.4) of the given mounts: the
 * daemon's counters and latency histogram, the store device's I/O counters
 * and the NVMe controller states (the reconnects, latency and errors an
 * operator of NVMe-oF storage watches).
 */
export function formatPrometheusMetrics(params: FormatPrometheusMetricsParams): string {
	const families = new Map<string, { help: string; type: string; lines: string[] }>();
	const add = (name: string, type: string, help: string, labels: Record<string, string>, value: number) => {
		let fam = families.get(name);
		if (!fam) {
			fam = { help, type, lines: [] };
			families.set(name, fam);
		}
		fam.lines.push(`${name}${labelText(labels)} ${formatValue(value)}`);
	};
	const addTo = (family: string, suffix: string, labels: Record<string, string>, value: number) => {
		families.get(family)?.lines.push(`${family}${suffix}${labelText(labels)} ${formatValue(value)}`);
	};
	for (const { mountpoint, stats: s, device: d } of params.samples) {
		const mp = { mountpoint };
		add("modelfs_up", "gauge", "1 when the view's daemon stats file is present.", mp, s ? 1 : 0);
		if (s) {
			add("modelfs_passthrough", "gauge", "1 when reads use FUSE passthrough, 0 when the daemon serves them.", mp, s.passthrough ? 1 : 0);
			add("modelfs_daemon_starts_total", "counter", "Daemon starts for this mount (restarts after a crash add one).", mp, s.daemonStarts);
			add("modelfs_opens_total", "counter", "Files opened.", mp, s.opens);
			add("modelfs_passthrough_opens_total", "counter", "Opens served by FUSE passthrough.", mp, s.passthroughOpens);
			add("modelfs_fallback_opens_total", "counter", "Opens whose reads the daemon serves.", mp, s.fallbackOpens);
			add("modelfs_fallback_reads_total", "counter", "READ requests served by the daemon.", mp, s.fallbackReads);
			add("modelfs_fallback_read_bytes_total", "counter", "Bytes served by the daemon.", mp, s.fallbackBytes);
			add("modelfs_blob_errors_total", "counter", "Blobs that could not be opened or read (missing or failing store).", mp, s.blobErrors);
			add("modelfs_prefetches_total", "counter", "Files read ahead into the page cache when opened (--prefetch on).", mp, s.prefetches);
			add("modelfs_prefetch_bytes_total", "counter", "Bytes the read-ahead read from the store.", mp, s.prefetchBytes);
			add("modelfs_prefetch_resident_bytes_total", "counter", "Bytes the read-ahead found cached already and skipped.", mp, s.prefetchResidentBytes);
			add("modelfs_backing_open_failures_total", "counter", "FUSE_DEV_IOC_BACKING_OPEN failures.", mp, s.backingOpenFailures);
			add("modelfs_backing_ids_open", "gauge", "Passthrough backing files open now.", mp, s.backingIdsOpen);
			for (const [op, n] of Object.entries(s.requests)) add("modelfs_requests_total", "counter", "FUSE requests by opcode.", { ...mp, op }, n);
			for (const [errno, n] of Object.entries(s.errors)) add("modelfs_errors_total", "counter", "Error replies by errno.", { ...mp, errno }, n);
			const h = "modelfs_request_duration_seconds";
			add(h, "histogram", "Time from reading a request to writing its reply.", { ...mp, le: "+Inf" }, 0);
			const fam = families.get(h);
			if (fam) fam.lines.pop();
			let cumulative = 0;
			s.latency.counts.forEach((n, i) => {
				cumulative += n;
				const le = s.latency.bucketsSeconds[i];
				addTo(h, "_bucket", { ...mp, le: le === Infinity ? "+Inf" : String(le) }, cumulative);
			});
			addTo(h, "_sum", mp, s.latency.sumSeconds);
			addTo(h, "_count", mp, s.latency.count);
		}
		if (d) {
			const dl = { ...mp, device: d.device };
			add("modelfs_store_device_reads_completed_total", "counter", "Reads completed by the store's block device.", dl, d.readsCompleted);
			add("modelfs_store_device_read_bytes_total", "counter", "Bytes read from the store's block device.", dl, d.readBytes);
			add("modelfs_store_device_read_time_seconds_total", "counter", "Time spent on reads by the store's block device.", dl, d.readTimeMs / 1000);
			add("modelfs_store_device_writes_completed_total", "counter", "Writes completed by the store's block device.", dl, d.writesCompleted);
			add("modelfs_store_device_written_bytes_total", "counter", "Bytes written to the store's block device.", dl, d.writtenBytes);
			add("modelfs_store_device_io_in_progress", "gauge", "I/Os in flight on the store's block device.", dl, d.ioInProgress);
			add("modelfs_store_device_io_time_seconds_total", "counter", "Time the store's block device was busy.", dl, d.ioTimeMs / 1000);
			for (const c of d.nvmeControllers) {
				add(
					"modelfs_nvme_controller_live",
					"gauge",
					"1 when the NVMe controller's state is live (reconnecting or dead otherwise).",
					{
						...dl,
						controller: c.name,
						state: c.state ?? "",
						transport: c.transport ?? "",
					},
					c.state === "live" ? 1 : 0,
				);
			}
		}
	}
	let out = "";
	for (const [name, fam] of families) out += `# HELP ${name} ${fam.help}\n# TYPE ${name} ${fam.type}\n${fam.lines.join("\n")}\n`;
	return out;
}

function labelText(labels: Record<string, string>): string {
	const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')}"`);
	return parts.length ? `{${parts.join(",")}}` : "";
}

function formatValue(v: number): string {
	if (v === Infinity) return "+Inf";
	return Number.isFinite(v) ? String(v) : "NaN";
}
