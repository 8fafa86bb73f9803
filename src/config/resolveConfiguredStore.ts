import { existsSync } from "node:fs";
import { resolveStoreDir } from "../store/resolveStoreDir.js";
import { defaultConfigPath } from "./defaultConfigPath.js";
import { readConfig } from "./readConfig.js";

export interface ResolveConfiguredStoreParams {
	/** The `--store` option, if given. */
	store?: string;
	/** The `--config` option, if given. */
	config?: string;
}

/**
 * The store for node-side commands (absorb, status): `--store`, else
 * `$MODELFS_STORE`, else the config file's `store` when a config file
 * exists, else the default data folder.
 */
export async function resolveConfiguredStore(params: ResolveConfiguredStoreParams): Promise<string> {
	if (params.store || process.env.MODELFS_STORE) return resolveStoreDir({ store: params.store });
	const path = defaultConfigPath({ config: params.config });
	if (params.config !== undefined || existsSync(path)) return (await readConfig({ path })).store;
	return resolveStoreDir({});
}
