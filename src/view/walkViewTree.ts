import type { ViewNode } from "./ViewTree.js";

/** One entry of a view tree with its path from the view's root. */
export interface ViewEntry {
	/** `/`-separated, no leading `/`; "" for the root. */
	path: string;
	node: ViewNode;
}

/**
 * Every node of a view tree, parents before children, in name order. Used by
 * `modelfs check` and tests to compare a mounted view with the tree it was
 * built from.
 */
export function* walkViewTree(root: ViewNode, base = ""): Generator<ViewEntry> {
	yield { path: base, node: root };
	if (root.kind !== "dir") return;
	for (const child of root.children) {
		yield* walkViewTree(child, base === "" ? child.name : `${base}/${child.name}`);
	}
}
