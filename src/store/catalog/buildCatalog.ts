import { IndexError } from "../../errors.js";
import type { Store } from "../Store.js";
import type { Catalog, CatalogRepo } from "../StoreTypes.js";

/** Builds the catalog of the index's current generation (repos sorted by type, name). */
export function buildCatalog(store: Store): Catalog {
	const index = store.index;
	if (!index) throw new IndexError("INDEX_UNAVAILABLE", `the index of ${store.dir} is not open`);
	const repos = new Map<string, CatalogRepo>();
	const keyOf = (type: string, name: string) => `${type}\n${name}`;
	for (const { key, value } of index.repos.getRange({ snapshot: false })) {
		repos.set(keyOf(key[0], key[1]), { type: key[0], name: key[1], refs: { ...value.refs }, snapshots: [] });
	}
	for (const { key, value } of index.snapshots.getRange({ snapshot: false })) {
		const k = keyOf(key[0], key[1]);
		let repo = repos.get(k);
		if (!repo) {
			repo = { type: key[0], name: key[1], refs: {}, snapshots: [] };
			repos.set(k, repo);
		}
		repo.snapshots.push({ commit: key[2], files: value.files });
	}
	const list = [...repos.values()].filter((r) => r.snapshots.length > 0);
	list.sort((a, b) => (a.type === b.type ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.type < b.type ? -1 : 1));
	return { format: 1, generation: index.generation(), createdAt: new Date().toISOString(), repos: list };
}
