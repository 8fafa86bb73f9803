import { homedir } from "node:os";
import { join, resolve } from "node:path";

export interface ResolveStoreDirParams {
	/** The `--store` option, if given. */
	store?: string;
	/** Environment to read MODELFS_STORE, XDG_DATA_HOME and HOME from. @default process.env */
	env?: NodeJS.ProcessEnv;
}

/**
 * Where the store is: `--store`, else `$MODELFS_STORE`, else
 * `$XDG_DATA_HOME/modelfs` (`~/.local/share/modelfs` when XDG_DATA_HOME is unset).
 * Always an absolute path.
 */
export function resolveStoreDir(params: ResolveStoreDirParams): string {
	const env = params.env ?? process.env;
	if (params.store) return resolve(params.store);
	if (env.MODELFS_STORE) return resolve(env.MODELFS_STORE);
	const dataHome = env.XDG_DATA_HOME?.startsWith("/") ? env.XDG_DATA_HOME : join(env.HOME || homedir(), ".local", "share");
	return join(dataHome, "modelfs");
}
