import { UsageError } from "../errors.js";
import type { Catalog } from "../store/StoreTypes.js";
import { flatLayout } from "./flatLayout.js";
import { hfLayout } from "./hfLayout.js";
import { matchesPrefetch } from "./matchesPrefetch.js";
import { selectRepos } from "./selectRepos.js";
import { splitViewPath } from "./splitViewPath.js";
import { templateLayout } from "./templateLayout.js";
import type { ViewDir, ViewSkip } from "./ViewTree.js";
import { ViewTreeBuilder } from "./ViewTreeBuilder.js";

/** The layouts a view can have. */
export const VIEW_LAYOUTS = ["hf", "flat", "template"] as const;
export type ViewLayout = (typeof VIEW_LAYOUTS)[number];

export interface BuildViewTreeParams {
	/** The published catalog the view is built from (readCatalog in src/store/). */
	catalog: Catalog;
	/**
	 * `hf`: the Hugging Face hub cache (`models--org--name/{blobs,snapshots,refs}`);
	 * `flat`: `org/name/<files>` of the newest revision;
	 * `template`: paths from `template`.
	 */
	layout: ViewLayout;
	/**
	 * Folders the whole view sits under, e.g. `huggingface/hub` for a backend
	 * folder mounted at `/root/.cache`. @default "" (the view's root)
	 */
	prefix?: string;
	/** hf layout: regular files in `snapshots/` instead of symlinks to `blobs/`. @default false */
	files?: boolean;
	/** template layout: e.g. `{org}/{name}/{revision}/{path}` (see TEMPLATE_PLACEHOLDERS). */
	template?: string;
	/** Only these repos (`org/name`, `models/org/name`, `datasets/org/name`). @default every repo */
	repos?: string[];
	/**
	 * Told of every catalog entry the view cannot show (a name over 255
	 * bytes, `..`, NUL, a blob name standing for two contents). Such an entry
	 * is left out; the rest of the view is built. @default none
	 */
	onSkip?: (skip: ViewSkip) => void;
	/**
	 * Files the daemon reads ahead into the page cache when they are opened
	 * (patterns on the file's name or path; matchesPrefetch.ts names the usual
	 * weight files), or false for none. Off unless asked: a read-ahead on open
	 * also fills the cache for a reader that wanted one header (and for
	 * `modelfs evict`), so the operator chooses it from the bench's figures.
	 * @default false
	 */
	prefetch?: readonly string[] | false;
}

/**
 * Builds the tree a view shows from the catalog. Pure: no I/O, so the same
 * catalog and options always give the same tree (children sorted by name).
 */
export function buildViewTree(params: BuildViewTreeParams): ViewDir {
	const { catalog, layout } = params;
	if (catalog === null || typeof catalog !== "object" || !Array.isArray(catalog.repos)) throw new TypeError("catalog: expected a Catalog with a repos array");
	if (!(VIEW_LAYOUTS as readonly string[]).includes(layout)) {
		throw new UsageError("VIEW_BAD_LAYOUT", `unknown view layout ${JSON.stringify(layout)}`, { hint: `use one of ${VIEW_LAYOUTS.join(", ")}` });
	}
	if (params.files && layout !== "hf") {
		throw new UsageError("VIEW_BAD_LAYOUT", `--files applies to the hf layout only (layout ${layout} already shows regular files)`, { hint: "drop --files" });
	}
	if (params.template !== undefined && layout !== "template") {
		throw new UsageError("VIEW_BAD_LAYOUT", `--template needs --layout template (layout is ${layout})`, { hint: "add --layout template" });
	}
	const prefix = splitViewPath({ path: params.prefix ?? "", what: "--prefix" });
	const repos = selectRepos({ repos: catalog.repos, only: params.repos });
	const builder = new ViewTreeBuilder();
	// An empty catalog still mounts: the prefix folders exist, so an overlay
	// on top has its hub folder from the start.
	builder.addDir(prefix);
	const onSkip = params.onSkip ?? (() => undefined);
	const patterns = params.prefetch === false || params.prefetch === undefined ? [] : params.prefetch;
	const prefetch = (path: string) => patterns.length > 0 && matchesPrefetch({ path, patterns });
	if (layout === "hf") hfLayout({ repos, builder, prefix, files: params.files, onSkip, prefetch });
	else if (layout === "flat") flatLayout({ repos, builder, prefix, onSkip, prefetch });
	else templateLayout({ repos, builder, prefix, template: params.template ?? "", onSkip, prefetch });
	return builder.toTree();
}
