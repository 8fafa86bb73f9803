import type { BenchReport, DiskId, RowId, Temperature } from "./BenchTypes.js";

export interface RenderChartParams {
	report: BenchReport;
}

const COLORS: Record<RowId, string> = {
	direct: "#4d4d4d",
	passthrough: "#1f77b4",
	"passthrough-prefetch": "#17becf",
	daemon: "#9ecae1",
	"overlay-view": "#2ca02c",
	"overlay-view-prefetch": "#bcbd22",
	"overlay-plain": "#98df8a",
	"fuse-native": "#d62728",
};

/**
 * A grouped bar chart of the load results as a standalone SVG (no scripts,
 * no fonts to fetch): one panel for cold and one for warm page cache, a
 * group of bars per access pattern, a bar per path, GB/s on the axis and
 * on each bar.
 */
export function renderChart(params: RenderChartParams): string {
	const r = params.report;
	const rows = r.rows.filter((x) => x.available);
	const width = 1100;
	const panelH = 300;
	const top = 70;
	const left = 60;
	const right = 20;
	const gap = 70;
	const legendH = 24 * Math.ceil(rows.length / 3) + 10;
	const height = top + 2 * panelH + gap + 40 + legendH;
	const plotW = width - left - right;
	const patterns = r.patterns.filter((p) => p.id !== "backend-io");
	const groupW = plotW / Math.max(1, patterns.length);
	const barW = Math.min(28, (groupW - 20) / Math.max(1, rows.length));
	const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
	const out: string[] = [];
	out.push(
		`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
		`<rect width="${width}" height="${height}" fill="#ffffff"/>`,
		`<text x="${left}" y="24" font-size="16" font-weight="bold">modelfs load throughput, GB/s (higher is better)</text>`,
		`<text x="${left}" y="44" fill="#555">${esc(`${(r.sizeBytes / 2 ** 30).toFixed(2)} GiB in ${r.weightFiles} safetensors shards, median of ${r.repeat} cold${r.kind === "load" ? ` / ${r.method.warmRunsPerRound * r.repeat} warm` : ""} runs (line: slowest to fastest), cold = after drop_caches, ${r.host}, Linux ${r.kernel}, ${r.cores} cores, ${r.date.slice(0, 16).replace("T", " ")} UTC`)}</text>`,
	);
	// Load bench: cold and warm on the disk as it is; volume bench: cold, plain and throttled disk.
	const panels: Array<{ temp: Temperature; disk: DiskId; title: string }> =
		r.kind === "volume"
			? [
					{ temp: "cold", disk: "plain", title: "Cold page cache, plain disk" },
					{ temp: "cold", disk: "throttled", title: "Cold page cache, throttled disk" },
				]
			: [
					{ temp: "cold", disk: "plain", title: "Cold page cache" },
					{ temp: "warm", disk: "plain", title: "Warm page cache" },
				];
	panels.forEach(({ temp, disk, title }, panel) => {
		const y0 = top + panel * (panelH + gap);
		const plotH = panelH - 40;
		const values = r.load.filter((l) => l.temp === temp && l.disk === disk && l.gbps > 0 && l.pattern !== "backend-io").flatMap((l) => [l.minGbps, l.maxGbps]);
		const hi = Math.max(0.1, ...values);
		const lo = Math.min(hi, ...values);
		// Warm mmap walks run at tens of GB/s and fuse-native at a fraction of
		// one: past a 20x spread a linear axis hides the slow rows, so go log.
		const log = hi / lo > 20;
		const ticks = log ? logTicks(lo, hi) : linearTicks(hi);
		const [tMin, tMax] = [ticks[0], ticks.at(-1)!];
		const frac = (v: number) => (log ? (Math.log10(Math.max(v, tMin)) - Math.log10(tMin)) / (Math.log10(tMax) - Math.log10(tMin)) : v / tMax);
		const yOf = (v: number) => y0 + 20 + plotH - frac(v) * plotH;
		out.push(`<text x="${left}" y="${y0 + 8}" font-size="14" font-weight="bold">${title}${log ? " (log scale)" : ""}</text>`);
		for (const v of ticks) {
			const y = yOf(v);
			out.push(`<line x1="${left}" x2="${width - right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e0e0e0"/>`);
			out.push(
				`<text x="${left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#555">${v === 0 ? "0" : v < 0.1 ? v.toFixed(2) : v < 10 && !Number.isInteger(v) ? v.toFixed(1) : v.toFixed(0)}</text>`,
			);
		}
		patterns.forEach((p, g) => {
			const gx = left + g * groupW + (groupW - barW * rows.length) / 2;
			rows.forEach((row, i) => {
				const l = r.load.find((x) => x.row === row.id && x.pattern === p.id && x.temp === temp && x.disk === disk);
				if (!l) return;
				const x = gx + i * barW;
				const y = yOf(l.gbps);
				const h = y0 + 20 + plotH - y;
				out.push(
					`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[row.id]}"><title>${esc(`${row.label}, ${p.label}, ${title.toLowerCase()}: ${l.gbps.toFixed(2)} GB/s median, ${l.minGbps.toFixed(2)}-${l.maxGbps.toFixed(2)}${l.ratio === null ? "" : ` (${l.ratio.toFixed(2)}x direct)`}`)}</title></rect>`,
				);
				if (l.maxGbps > l.minGbps) {
					const cx = (x + (barW - 2) / 2).toFixed(1);
					out.push(`<line x1="${cx}" x2="${cx}" y1="${yOf(l.maxGbps).toFixed(1)}" y2="${yOf(l.minGbps).toFixed(1)}" stroke="#000" stroke-width="1"/>`);
				}
				out.push(
					`<text x="${(x + (barW - 2) / 2).toFixed(1)}" y="${(Math.min(y, yOf(l.maxGbps)) - 3).toFixed(1)}" text-anchor="middle" font-size="9" fill="#333">${l.gbps.toFixed(l.gbps < 10 ? 1 : 0)}</text>`,
				);
			});
			out.push(`<text x="${(left + g * groupW + groupW / 2).toFixed(1)}" y="${y0 + 20 + plotH + 16}" text-anchor="middle">${esc(p.label)}</text>`);
		});
		out.push(`<line x1="${left}" x2="${width - right}" y1="${y0 + 20 + plotH}" y2="${y0 + 20 + plotH}" stroke="#333"/>`);
	});
	const ly = top + 2 * panelH + gap + 20;
	rows.forEach((row, i) => {
		const x = left + (i % 3) * 340;
		const y = ly + Math.floor(i / 3) * 24;
		out.push(`<rect x="${x}" y="${y}" width="14" height="14" fill="${COLORS[row.id]}"/>`);
		out.push(`<text x="${x + 20}" y="${y + 12}">${esc(row.label)}</text>`);
	});
	out.push("</svg>");
	return `${out.join("\n")}\n`;
}

/** 0 to a round number at or above hi, in 5 steps. */
function linearTicks(hi: number): number[] {
	const p = 10 ** Math.floor(Math.log10(hi));
	const top = [1, 2, 2.5, 5, 10].map((m) => m * p).find((v) => v >= hi) ?? 10 * p;
	return [0, 1, 2, 3, 4, 5].map((i) => (top * i) / 5);
}

/** 1-2-5 steps from just below lo to just above hi. */
function logTicks(lo: number, hi: number): number[] {
	const ticks: number[] = [];
	for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
		for (const m of [1, 2, 5]) ticks.push(Number((m * 10 ** e).toPrecision(2)));
	}
	// Strictly below lo, so the slowest bar still shows.
	const first = ticks.filter((t) => t < lo * 0.9).at(-1) ?? ticks[0] / 2;
	const last = ticks.find((t) => t >= hi) ?? ticks.at(-1)!;
	return ticks.filter((t) => t >= first && t <= last);
}
