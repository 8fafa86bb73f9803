import { UsageError } from "../errors.js";
import type { MergedModel, MergedNode, MergedScanReport, ScanReport } from "./ScanTypes.js";

export interface MergeScanReportsParams {
	/** One `modelfs scan --json` report per node; node names must differ. */
	reports: ScanReport[];
	/** Where each report came from, for messages (same order). @default "report <n>" */
	sources?: string[];
}

/**
 * Merges nodes' scan reports into the cluster view: per node, per model and
 * in total the bytes held, what one shared store would hold, and what is
 * duplicated within and across nodes. Contents are matched across nodes by
 * their digest only (`sha256:`/`sha1:` ids and aliases); `local:` contents
 * (unique on their node, never hashed) stay apart and are counted as
 * unproven. A plain folder holding most of the bytes of a hub repo seen on
 * any node is counted as a copy of that repo.
 */
export function mergeScanReports(params: MergeScanReportsParams): MergedScanReport {
	if (!Array.isArray(params?.reports) || params.reports.length === 0) throw new UsageError("SCAN_NO_INPUT", "give at least one scan report to merge");
	const seen = new Map<string, string>();
	params.reports.forEach((r, i) => {
		const source = params.sources?.[i] ?? `report ${i + 1}`;
		if (r === null || typeof r !== "object" || r.kind !== "modelfs-scan" || r.format !== 1 || !Array.isArray(r.contents) || !Array.isArray(r.models)) {
			throw new UsageError("SCAN_BAD_REPORT", `${source} is not a modelfs scan report (format 1)`, {
				hint: "make one per node with `modelfs scan <dir>... --json --node NAME > NAME.json`",
			});
		}
		const other = seen.get(r.node);
		if (other !== undefined) {
			throw new UsageError("SCAN_DUPLICATE_NODE", `${source} and ${other} are both from node ${r.node}: merging them would count its files twice`, {
				hint: "scan each node once, naming it with --node",
			});
		}
		seen.set(r.node, source);
	});

	// Union the nodes' contents that share a digest (of the same size).
	interface Entry {
		node: string;
		size: number;
		models: string[];
		proven: boolean;
	}
	const entries: Entry[] = [];
	const parent: number[] = [];
	const find = (i: number): number => {
		while (parent[i] !== i) {
			parent[i] = parent[parent[i]];
			i = parent[i];
		}
		return i;
	};
	const byDigest = new Map<string, number>();
	const entryOf = new Map<string, number>();
	let unprovenBytes = 0;
	for (const r of params.reports) {
		for (const c of r.contents) {
			const i = entries.push({ node: r.node, size: c.size, models: c.models, proven: !c.id.startsWith("local:") }) - 1;
			parent.push(i);
			entryOf.set(`${r.node}\0${c.id}`, i);
			// A local: id names nothing outside its node.
			if (!entries[i].proven) {
				unprovenBytes += c.size;
				continue;
			}
			for (const d of [c.id, ...(c.aliases ?? [])]) {
				const k = `${d}:${c.size}`;
				const other = byDigest.get(k);
				if (other === undefined) byDigest.set(k, i);
				else parent[find(i)] = find(other);
			}
		}
	}
	// A plain folder that holds most of a hub repo's bytes is a copy of that
	// repo, even when the repo's hub-named copy is on another node.
	const hubModels = new Map<number, Set<string>>();
	entries.forEach((e, i) => {
		const root = find(i);
		const set = hubModels.get(root) ?? new Set<string>();
		for (const id of e.models) if (!id.startsWith("folder:")) set.add(id);
		hubModels.set(root, set);
	});
	const rename = new Map<string, string>();
	for (const r of params.reports) {
		for (const m of r.models) {
			if (!m.id.startsWith("folder:")) continue;
			const shared = new Map<string, number>();
			for (const c of r.contents) {
				if (!c.models.includes(m.id)) continue;
				for (const id of hubModels.get(find(entryOf.get(`${r.node}\0${c.id}`)!))!) shared.set(id, (shared.get(id) ?? 0) + c.size);
			}
			const best = [...shared.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
			if (best !== undefined && best[1] * 2 >= m.uniqueBytes && m.uniqueBytes > 0) rename.set(`${r.node}\0${m.id}`, best[0]);
		}
	}
	const modelId = (node: string, id: string): string => rename.get(`${node}\0${id}`) ?? id;

	const contents = new Map<number, { size: number; nodes: Set<string>; models: Set<string> }>();
	entries.forEach((e, i) => {
		const root = find(i);
		let m = contents.get(root);
		if (m === undefined) {
			m = { size: e.size, nodes: new Set(), models: new Set() };
			contents.set(root, m);
		}
		m.nodes.add(e.node);
		for (const model of e.models) m.models.add(modelId(e.node, model));
	});

	const nodes: MergedNode[] = params.reports.map((r) => {
		let shared = 0;
		for (const c of r.contents) if (contents.get(find(entryOf.get(`${r.node}\0${c.id}`)!))!.nodes.size > 1) shared += c.size;
		return {
			node: r.node,
			scannedAt: r.scannedAt,
			heldBytes: r.totals.heldBytes,
			uniqueBytes: r.totals.uniqueBytes,
			duplicateBytes: r.totals.duplicateBytes,
			sharedWithOtherNodesBytes: shared,
		};
	});

	const models = new Map<string, MergedModel & { nodeUnique: number }>();
	for (const r of params.reports) {
		for (const m of r.models) {
			const id = modelId(r.node, m.id);
			let mm = models.get(id);
			if (mm === undefined) {
				mm = { id, nodes: [], heldBytes: 0, uniqueBytes: 0, duplicateBytes: 0, crossNodeDuplicateBytes: 0, nodeUnique: 0 };
				models.set(m.id, mm);
			}
			const same = mm.nodes.find((n) => n.node === r.node);
			if (same !== undefined) {
				same.copies += m.copies.length;
				same.heldBytes += m.heldBytes;
			} else mm.nodes.push({ node: r.node, copies: m.copies.length, heldBytes: m.heldBytes });
			mm.heldBytes += m.heldBytes;
			mm.nodeUnique += m.uniqueBytes;
		}
	}
	for (const c of contents.values()) for (const id of c.models) models.get(id)!.uniqueBytes += c.size;
	for (const m of models.values()) {
		m.duplicateBytes = m.heldBytes - m.uniqueBytes;
		m.crossNodeDuplicateBytes = m.nodeUnique - m.uniqueBytes;
	}

	const heldBytes = nodes.reduce((n, x) => n + x.heldBytes, 0);
	const uniqueBytes = [...contents.values()].reduce((n, c) => n + c.size, 0);
	return {
		format: 1,
		kind: "modelfs-scan-merge",
		nodes: nodes.sort((a, b) => (a.node < b.node ? -1 : 1)),
		models: [...models.values()]
			.map(({ nodeUnique: _n, ...m }) => ({ ...m, nodes: m.nodes.sort((a, b) => (a.node < b.node ? -1 : 1)) }))
			.sort((a, b) => b.duplicateBytes - a.duplicateBytes || (a.id < b.id ? -1 : 1)),
		totals: {
			heldBytes,
			uniqueBytes,
			duplicateBytes: heldBytes - uniqueBytes,
			crossNodeDuplicateBytes: nodes.reduce((n, x) => n + x.uniqueBytes, 0) - uniqueBytes,
			unprovenBytes,
		},
	};
}
