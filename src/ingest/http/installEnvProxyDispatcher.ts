import { UsageError } from "../../errors.js";
import { createEnvProxyDispatcher } from "./createEnvProxyDispatcher.js";
import { proxyForUrl } from "./proxyForUrl.js";

export interface InstallEnvProxyDispatcherParams {
	/** Where the proxy variables are read. @default process.env */
	env?: NodeJS.ProcessEnv;
}

const PROXY_VARS = ["https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"] as const;

/**
 * Sends the hub API requests (Node's fetch, which ignores proxy variables)
 * through the proxy the environment names, as the downloads go
 * (createConnectionPool reads the same variables): installs
 * createEnvProxyDispatcher as undici's global dispatcher when a proxy
 * variable is set. A proxy URL that cannot work is refused up front
 * (PROXY_INVALID), not found out per request. Resolves to whether it
 * installed one.
 */
export async function installEnvProxyDispatcher(params: InstallEnvProxyDispatcherParams = {}): Promise<boolean> {
	const env = params.env ?? process.env;
	if (!PROXY_VARS.some((v) => env[v])) return false;
	// Every variable set is checked, whatever NO_PROXY says of the hub.
	const unfiltered = { ...env, no_proxy: "", NO_PROXY: "" };
	for (const u of ["https://hub.invalid/", "http://hub.invalid/"]) {
		try {
			proxyForUrl(new URL(u), unfiltered);
		} catch (err) {
			throw new UsageError("PROXY_INVALID", (err as Error).message, { hint: "set HTTPS_PROXY / HTTP_PROXY to http://[user:password@]host:port" });
		}
	}
	// Loaded only when a proxy is set: undici is large, and most runs need none of it.
	const { setGlobalDispatcher } = await import("undici");
	setGlobalDispatcher(await createEnvProxyDispatcher({ env }));
	return true;
}
