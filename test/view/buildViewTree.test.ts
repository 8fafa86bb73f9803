import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { buildViewTree } from "../../src/view/buildViewTree.js";
import type { ViewDir, ViewNode } from "../../src/view/ViewTree.js";
import { walkViewTree } from "../../src/view/walkViewTree.js";
import { hex, makeCatalog, makeRepo, sampleCatalog } from "./makeCatalog.js";

/** path -> short description of every leaf, and "dir" for folders. */
function listing(tree: ViewDir): Record<string, string> {
	const out: Record<string, string> = {};
	for (const { path, node } of walkViewTree(tree)) {
		if (path === "") continue;
		out[path] = show(node);
	}
	return out;
}

function show(node: ViewNode): string {
	if (node.kind === "dir") return "dir";
	if (node.kind === "symlink") return `-> ${node.target}`;
	return node.content !== undefined ? `inline:${node.content}` : `blob:${node.blake3.slice(0, 8)}:${node.size}`;
}

function find(tree: ViewDir, path: string): ViewNode | undefined {
	for (const e of walkViewTree(tree)) if (e.path === path) return e.node;
	return undefined;
}

/** Resolves a relative symlink target against the link's folder. */
function resolve(linkPath: string, target: string): string {
	const parts = linkPath.split("/").slice(0, -1);
	for (const seg of target.split("/")) {
		if (seg === "..") parts.pop();
		else parts.push(seg);
	}
	return parts.join("/");
}

const commit = (label: string) => hex(`commit:${label}`, 40);

describe("buildViewTree", () => {
	it("builds the hub cache layout: blobs by etag, relative symlinks in snapshots, refs holding the commit", () => {
		const tree = buildViewTree({ catalog: sampleCatalog(), layout: "hf" });
		const l = listing(tree);
		const a = "models--org--model-a";
		expect(Object.keys(l).filter((p) => !p.includes("/"))).toEqual(["datasets--org--data", "models--gpt2", "models--org--model-a"]);
		expect(l[`${a}/refs/main`]).toBe(`inline:${commit("a2")}`);
		expect(l[`${a}/refs/v1.0`]).toBe(`inline:${commit("a1")}`);
		// A ref name with a slash is a sub-folder, as huggingface_hub writes refs/pr/1.
		expect(l[`${a}/refs/pr`]).toBe("dir");
		expect(l[`${a}/refs/pr/1`]).toBe(`inline:${commit("a1")}`);
		expect(l[`${a}/snapshots/${commit("a2")}/config.json`]).toBe(`-> ../../blobs/${hex("sha1:config-a2", 40)}`);
		expect(l[`${a}/snapshots/${commit("a2")}/onnx/sub/model.onnx`]).toBe(`-> ../../../../blobs/${hex("sha256:onnx")}`);
		// Shared content across commits is one blob.
		const blobs = Object.keys(l).filter((p) => p.startsWith(`${a}/blobs/`));
		expect(blobs).toHaveLength(5);
		expect(Object.keys(l).some((p) => p.includes("trees") || p.includes(".no_exist") || p.includes(".locks"))).toBe(false);
	});

	it("makes every snapshot symlink resolve to a blob of the right size and content", () => {
		const catalog = sampleCatalog();
		const tree = buildViewTree({ catalog, layout: "hf" });
		let links = 0;
		for (const { path, node } of walkViewTree(tree)) {
			if (node.kind !== "symlink") continue;
			links++;
			const blob = find(tree, resolve(path, node.target));
			expect(blob?.kind, path).toBe("file");
			const [folder, , commitSha, ...rest] = path.split("/");
			const repo = catalog.repos.find((r) => folder.endsWith(r.name.replaceAll("/", "--")))!;
			const file = repo.snapshots.find((s) => s.commit === commitSha)!.files.find((f) => f.path === rest.join("/"))!;
			expect(blob).toMatchObject({ size: file.size, blake3: file.blake3 });
		}
		expect(links).toBe(10);
	});

	it("writes refs as inline files without a newline whose size is the byte length", () => {
		const tree = buildViewTree({ catalog: sampleCatalog(), layout: "hf" });
		const ref = find(tree, "models--gpt2/refs/main");
		expect(ref).toEqual({ kind: "file", name: "main", size: 40, content: commit("g1") });
	});

	it("shows no ref that points at a commit the store has no snapshot of", () => {
		const catalog = makeCatalog([makeRepo({ name: "o/m", refs: { main: "gone", v1: "c1" }, snapshots: { c1: [{ path: "a", content: "a" }] } })]);
		const l = listing(buildViewTree({ catalog, layout: "hf" }));
		expect(l["models--o--m/refs/main"]).toBeUndefined();
		expect(l["models--o--m/refs/v1"]).toBe(`inline:${commit("c1")}`);
	});

	it("puts the view under --prefix", () => {
		const tree = buildViewTree({ catalog: sampleCatalog(), layout: "hf", prefix: "/huggingface//hub/" });
		expect(tree.children.map((c) => c.name)).toEqual(["huggingface"]);
		expect(find(tree, "huggingface/hub/models--gpt2/refs/main")?.kind).toBe("file");
	});

	it("keeps the prefix folders in a view of an empty catalog", () => {
		const tree = buildViewTree({ catalog: makeCatalog([]), layout: "hf", prefix: "huggingface/hub" });
		expect(listing(tree)).toEqual({ huggingface: "dir", "huggingface/hub": "dir" });
	});

	it("shows regular files and no blobs/ with files: true", () => {
		const tree = buildViewTree({ catalog: sampleCatalog(), layout: "hf", files: true });
		const l = listing(tree);
		expect(l[`models--org--model-a/snapshots/${commit("a2")}/onnx/sub/model.onnx`]).toBe(`blob:${hex("blake3:onnx").slice(0, 8)}:400`);
		expect(Object.keys(l).some((p) => p.includes("/blobs"))).toBe(false);
		expect(Object.values(l).some((d) => d.startsWith("->"))).toBe(false);
		expect(l["models--org--model-a/refs/main"]).toBe(`inline:${commit("a2")}`);
	});

	it("limits the view to the repos asked for, by id or by type/id", () => {
		const only = buildViewTree({ catalog: sampleCatalog(), layout: "hf", repos: ["gpt2", "datasets/org/data"] });
		expect(only.children.map((c) => c.name)).toEqual(["datasets--org--data", "models--gpt2"]);
		expect(() => buildViewTree({ catalog: sampleCatalog(), layout: "hf", repos: ["models/org/data"] })).toThrow(expect.objectContaining({ code: "VIEW_REPO_NOT_FOUND" }));
	});

	it("fails on a repo that is not in the catalog, naming it", () => {
		let err: unknown;
		try {
			buildViewTree({ catalog: sampleCatalog(), layout: "hf", repos: ["org/typo"] });
		} catch (e) {
			err = e;
		}
		expect(err).toBeInstanceOf(UsageError);
		expect((err as UsageError).message).toContain("org/typo");
	});

	it("shows the newest revision (main) as plain files in the flat layout", () => {
		const l = listing(buildViewTree({ catalog: sampleCatalog(), layout: "flat", prefix: "models" }));
		expect(l["models/org/model-a/config.json"]).toBe(`blob:${hex("blake3:config-a2").slice(0, 8)}:900`);
		expect(l["models/org/model-a/onnx/sub/model.onnx"]).toBe(`blob:${hex("blake3:onnx").slice(0, 8)}:400`);
		expect(l["models/gpt2/tokenizer.json"]).toBe(`blob:${hex("blake3:tokenizer").slice(0, 8)}:900`);
		expect(l["models/datasets/org/data/data/train.parquet"]).toBeDefined();
		expect(Object.values(l).some((d) => d.startsWith("->") || d.startsWith("inline"))).toBe(false);
	});

	it("falls back to the snapshot stored last when a repo has no main ref", () => {
		const catalog = makeCatalog([makeRepo({ name: "o/m", refs: { v1: "c1", v2: "c2" }, snapshots: { c1: [{ path: "f", content: "one" }], c2: [{ path: "f", content: "two" }] } })]);
		expect(listing(buildViewTree({ catalog, layout: "flat" }))["o/m/f"]).toBe(`blob:${hex("blake3:two").slice(0, 8)}:300`);
	});

	it("expands a template once per ref with {revision}", () => {
		const tree = buildViewTree({ catalog: sampleCatalog(), layout: "template", template: "{org}/{name}/{revision}/{path}", repos: ["org/model-a", "gpt2"] });
		const l = listing(tree);
		expect(l["org/model-a/main/onnx/sub/model.onnx"]).toBeDefined();
		expect(l["org/model-a/v1.0/config.json"]).toBe(`blob:${hex("blake3:config-a1").slice(0, 8)}:900`);
		expect(l["org/model-a/pr/1/config.json"]).toBe(l["org/model-a/v1.0/config.json"]);
		// A repo without an org: the empty {org} level is dropped.
		expect(l["gpt2/main/config.json"]).toBeDefined();
	});

	it("expands a template once per snapshot with {commit}, and supports type, folder and hashes", () => {
		const l = listing(buildViewTree({ catalog: sampleCatalog(), layout: "template", template: "{types}/{folder}/{commit}/{path}" }));
		expect(l[`models/models--org--model-a/${commit("a1")}/config.json`]).toBeDefined();
		expect(l[`models/models--org--model-a/${commit("a2")}/config.json`]).toBeDefined();
		expect(l[`datasets/datasets--org--data/${commit("d1")}/data/train.parquet`]).toBeDefined();
		const cas = listing(buildViewTree({ catalog: sampleCatalog(), layout: "template", template: "by-blake3/{blake3}" }));
		// Newest revision only (no {revision}/{commit}); the tokenizer shared by
		// two repos is one path: 4 + 1 + 1 distinct contents.
		expect(Object.keys(cas).filter((p) => p.startsWith("by-blake3/"))).toHaveLength(6);
	});

	it("refuses a bad template: unknown placeholder, no file placeholder, climbing out, unmatched brace", () => {
		const cases = ["{org}/{nme}/{path}", "{org}/{name}", "../{path}", "{org}/{path", ""];
		for (const template of cases) {
			expect(() => buildViewTree({ catalog: sampleCatalog(), layout: "template", template }), template).toThrow(expect.objectContaining({ code: "VIEW_BAD_TEMPLATE" }));
		}
	});

	it("reports two different files landing on one template path as a conflict", () => {
		expect(() => buildViewTree({ catalog: sampleCatalog(), layout: "template", template: "{org}/{name}/{path}", repos: ["org/model-a"] })).not.toThrow();
		// Without a per-type level a model and a dataset of the same id collide.
		const catalog = makeCatalog([
			makeRepo({ name: "o/x", refs: { main: "m" }, snapshots: { m: [{ path: "f", content: "model" }] } }),
			makeRepo({ name: "o/x", type: "dataset", refs: { main: "d" }, snapshots: { d: [{ path: "f", content: "data" }] } }),
		]);
		expect(() => buildViewTree({ catalog, layout: "template", template: "{repo}/{path}" })).toThrow(expect.objectContaining({ code: "VIEW_PATH_CONFLICT" }));
		expect(() => buildViewTree({ catalog, layout: "template", template: "{types}/{repo}/{path}" })).not.toThrow();
	});

	it("leaves out, and reports, catalog entries it cannot show (escaping paths, names over 255 bytes, bad refs, bad repo names); the rest is served", () => {
		const long = `${"x".repeat(256)}.safetensors`;
		for (const path of ["../etc/passwd", "/abs", "a//b", "a/./b", long, `dir/${long}`]) {
			const catalog = makeCatalog([
				makeRepo({
					name: "o/m",
					refs: { main: "c" },
					snapshots: {
						c: [
							{ path, content: "x" },
							{ path: "config.json", content: "{}" },
						],
					},
				}),
				makeRepo({ name: "o/other", refs: { main: "d" }, snapshots: { d: [{ path: "w.bin", content: "w" }] } }),
			]);
			for (const layout of ["hf", "flat"] as const) {
				const skips: Array<{ repo: string; commit?: string; path?: string; reason: string }> = [];
				const tree = buildViewTree({ catalog, layout, onSkip: (s) => skips.push(s) });
				expect(skips, `${layout} ${path}`).toEqual([{ repo: "o/m", commit: hex("commit:c", 40), path, reason: expect.stringMatching(/cannot be shown|255 bytes/) }]);
				const paths = Object.keys(listing(tree));
				expect(
					paths.some((p) => p.endsWith("config.json")),
					`${layout} keeps the good file`,
				).toBe(true);
				expect(
					paths.some((p) => p.endsWith("w.bin")),
					`${layout} keeps the other repo`,
				).toBe(true);
				expect(
					paths.some((p) => p.includes("etc") || p.includes("xxxx")),
					`${layout} leaves ${path} out`,
				).toBe(false);
			}
		}
		const badRef = makeCatalog([makeRepo({ name: "o/m", refs: { main: "c", "../../x": "c" }, snapshots: { c: [{ path: "f", content: "x" }] } })]);
		const refSkips: string[] = [];
		const refTree = buildViewTree({ catalog: badRef, layout: "hf", onSkip: (s) => refSkips.push(`${s.repo} ${s.path}`) });
		expect(refSkips).toEqual(["o/m refs/../../x"]);
		expect(find(refTree, "models--o--m/refs/main")).toMatchObject({ content: hex("commit:c", 40) });
		const badRepo = makeCatalog([
			makeRepo({ name: "o/..", snapshots: { c: [{ path: "f", content: "x" }] } }),
			makeRepo({ name: "o/ok", snapshots: { c: [{ path: "f", content: "x" }] } }),
		]);
		const repoSkips: string[] = [];
		const repoTree = buildViewTree({ catalog: badRepo, layout: "hf", onSkip: (s) => repoSkips.push(s.repo) });
		expect(repoSkips).toEqual(["o/.."]);
		expect(find(repoTree, "models--o--ok")).toBeDefined();
	});

	it("refuses a bad prefix, an unknown layout and options of another layout", () => {
		expect(() => buildViewTree({ catalog: sampleCatalog(), layout: "hf", prefix: "../up" })).toThrow(expect.objectContaining({ code: "VIEW_BAD_PREFIX" }));
		expect(() => buildViewTree({ catalog: sampleCatalog(), layout: "nope" as "hf" })).toThrow(expect.objectContaining({ code: "VIEW_BAD_LAYOUT" }));
		expect(() => buildViewTree({ catalog: sampleCatalog(), layout: "flat", files: true })).toThrow(expect.objectContaining({ code: "VIEW_BAD_LAYOUT" }));
		expect(() => buildViewTree({ catalog: sampleCatalog(), layout: "hf", template: "{path}" })).toThrow(expect.objectContaining({ code: "VIEW_BAD_LAYOUT" }));
	});

	it("sorts children by name and gives the same tree for the same catalog", () => {
		const a = buildViewTree({ catalog: sampleCatalog(), layout: "hf" });
		const b = buildViewTree({ catalog: sampleCatalog(), layout: "hf" });
		expect(a).toEqual(b);
		for (const { node } of walkViewTree(a)) {
			if (node.kind !== "dir") continue;
			const names = node.children.map((c) => c.name);
			expect(names).toEqual([...names].sort());
		}
	});

	it("builds a 10,000-file view", () => {
		const files = Array.from({ length: 10_000 }, (_, i) => ({ path: `shard-${Math.floor(i / 100)}/f-${i}.bin`, content: `c${i}`, lfs: true }));
		const catalog = makeCatalog([makeRepo({ name: "big/model", refs: { main: "c" }, snapshots: { c: files } })]);
		const tree = buildViewTree({ catalog, layout: "hf" });
		let links = 0;
		for (const { node } of walkViewTree(tree)) if (node.kind === "symlink") links++;
		expect(links).toBe(10_000);
	});
});
