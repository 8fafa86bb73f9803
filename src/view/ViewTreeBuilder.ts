import { UsageError } from "../errors.js";
import type { ViewDir, ViewFile, ViewNode, ViewSymlink } from "./ViewTree.js";

/** Internal mutable directory: children by name for O(1) inserts. */
interface BuilderDir {
	kind: "dir";
	name: string;
	children: Map<string, BuilderDir | ViewFile | ViewSymlink>;
}

/**
 * Accumulates the nodes a layout adds, path by path, and turns them into the
 * immutable sorted ViewDir the daemon image is written from. Adding the same
 * leaf twice is fine when it is identical (several revisions share a blob);
 * two different things at one path is a VIEW_PATH_CONFLICT, because the view
 * could only show one of them and silently picking one would serve the wrong
 * bytes.
 */
export class ViewTreeBuilder {
	private readonly root: BuilderDir = { kind: "dir", name: "", children: new Map() };

	/** Ensures the directory at `segments` exists (e.g. an empty `refs/`). */
	addDir(segments: readonly string[]): void {
		this.dirAt(segments, segments.length);
	}

	/** Adds a file or symlink at `segments` (the last segment is its name). */
	addLeaf(segments: readonly string[], leaf: ViewFile | ViewSymlink): void {
		const name = segments[segments.length - 1];
		if (name === undefined) throw new TypeError("ViewTreeBuilder.addLeaf: empty path");
		if (leaf.name !== name) throw new TypeError(`ViewTreeBuilder.addLeaf: node name ${leaf.name} differs from path ${segments.join("/")}`);
		const dir = this.dirAt(segments, segments.length - 1);
		const existing = dir.children.get(name);
		if (existing === undefined) {
			dir.children.set(name, leaf);
			return;
		}
		if (sameLeaf(existing, leaf)) {
			// One blob shown at a weight path and at another: it is a weight file.
			if (existing.kind === "file" && leaf.kind === "file" && leaf.prefetch === true) existing.prefetch = true;
			return;
		}
		throw new UsageError("VIEW_PATH_CONFLICT", `two different entries would be shown at ${segments.join("/")} (${describe(existing)} and ${describe(leaf)})`, {
			hint: "use a layout or template whose paths tell the two apart (e.g. add {revision} or {type} to --template), or limit the view with --repo",
		});
	}

	/** The finished tree, children sorted by name. */
	toTree(): ViewDir {
		return freeze(this.root);
	}

	private dirAt(segments: readonly string[], count: number): BuilderDir {
		let dir = this.root;
		for (let i = 0; i < count; i++) {
			const name = segments[i];
			const next = dir.children.get(name);
			if (next === undefined) {
				const created: BuilderDir = { kind: "dir", name, children: new Map() };
				dir.children.set(name, created);
				dir = created;
			} else if (next.kind === "dir") {
				dir = next;
			} else {
				throw new UsageError("VIEW_PATH_CONFLICT", `${segments.slice(0, i + 1).join("/")} would be both a ${next.kind} and a folder in the view`, {
					hint: "use a layout or template whose paths tell the two apart, or limit the view with --repo",
				});
			}
		}
		return dir;
	}
}

function sameLeaf(a: BuilderDir | ViewFile | ViewSymlink, b: ViewFile | ViewSymlink): boolean {
	if (a.kind === "dir") return false;
	if (a.kind === "symlink") return b.kind === "symlink" && a.target === b.target;
	if (b.kind === "symlink") return false;
	return a.size === b.size && a.blake3 === b.blake3 && a.content === b.content;
}

function describe(node: BuilderDir | ViewFile | ViewSymlink): string {
	if (node.kind === "dir") return "a folder";
	if (node.kind === "symlink") return `symlink -> ${node.target}`;
	return node.content !== undefined ? `file ${JSON.stringify(node.content)}` : `blob ${node.blake3}`;
}

function freeze(dir: BuilderDir): ViewDir {
	// Byte order of the UTF-8 names, so the image is the same on every host;
	// keys are encoded once per folder, not per comparison.
	const names = [...dir.children.keys()]
		.map((name) => ({ name, key: Buffer.from(name, "utf8") }))
		.sort((a, b) => Buffer.compare(a.key, b.key))
		.map((e) => e.name);
	const children: ViewNode[] = names.map((name) => {
		const child = dir.children.get(name)!;
		return child.kind === "dir" ? freeze(child) : child;
	});
	return { kind: "dir", name: dir.name, children };
}
