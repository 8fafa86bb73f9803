import { UsageError } from "../errors.js";
import type { BackendConfig, ModelfsConfig, ViewConfig } from "./ModelfsConfig.js";

export interface SelectConfiguredParams {
	config: ModelfsConfig;
	/** Backend or view names (`--only`); empty or undefined selects everything. */
	only?: string[];
}

/**
 * What `up`/`down`/`status` act on: the backends named by `--only` (a view
 * name selects the view and all its backends) and the views they read.
 */
export function selectConfigured(params: SelectConfiguredParams): { views: ViewConfig[]; backends: BackendConfig[] } {
	const { config } = params;
	const only = params.only ?? [];
	if (only.length === 0) return { views: config.views, backends: config.backends };
	const backends = new Set<BackendConfig>();
	const views = new Set<string>();
	for (const name of only) {
		const b = config.backends.find((x) => x.name === name);
		const v = config.views.find((x) => x.name === name);
		if (b === undefined && v === undefined) {
			throw new UsageError("CONFIG_UNKNOWN_NAME", `--only ${name}: no backend or view of that name in ${config.path}`, {
				hint: `names: ${[...config.backends.map((x) => x.name), ...config.views.map((x) => x.name)].join(", ")}`,
			});
		}
		if (b !== undefined) {
			backends.add(b);
			views.add(b.view);
		}
		if (v !== undefined) {
			views.add(v.name);
			for (const x of config.backends) if (x.view === v.name) backends.add(x);
		}
	}
	return { views: config.views.filter((v) => views.has(v.name)), backends: config.backends.filter((b) => backends.has(b)) };
}
