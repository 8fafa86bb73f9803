export interface DefaultConfigPathParams {
	/** The `--config` option, if given. */
	config?: string;
	/** @default process.env */
	env?: NodeJS.ProcessEnv;
}

/** `--config`, else `$MODELFS_CONFIG`, else `/etc/modelfs/config.yaml`. */
export function defaultConfigPath(params: DefaultConfigPathParams = {}): string {
	const env = params.env ?? process.env;
	return params.config ?? env.MODELFS_CONFIG ?? "/etc/modelfs/config.yaml";
}
