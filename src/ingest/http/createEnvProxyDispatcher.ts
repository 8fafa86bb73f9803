import type { Dispatcher } from "undici";
import { proxyForUrl } from "./proxyForUrl.js";

export interface CreateEnvProxyDispatcherParams {
	/** Where HTTPS_PROXY, HTTP_PROXY and NO_PROXY are read, per request. @default process.env */
	env?: NodeJS.ProcessEnv;
}

/**
 * An undici dispatcher for Node's fetch (the hub API calls) that sends each
 * request through the proxy proxyForUrl names for its origin, or directly:
 * the same rules as the downloads (HTTPS_PROXY, HTTP_PROXY, NO_PROXY with
 * CIDRs). undici's own EnvHttpProxyAgent reads the same variables with
 * slightly different NO_PROXY rules and warns that it is experimental.
 */
export async function createEnvProxyDispatcher(params: CreateEnvProxyDispatcherParams = {}): Promise<Dispatcher> {
	const env = params.env ?? process.env;
	// Loaded only when a proxy is set: undici is large, and most runs need none of it.
	const { Agent, Dispatcher: DispatcherBase, ProxyAgent } = await import("undici");
	const direct = new Agent();
	const viaProxy = new Map<string, InstanceType<typeof ProxyAgent>>();
	const all = (): Dispatcher[] => [direct, ...viaProxy.values()];
	class EnvProxyDispatcher extends DispatcherBase {
		override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandlers): boolean {
			const proxy = proxyForUrl(new URL(String(options.origin)), env);
			if (!proxy) return direct.dispatch(options, handler);
			let agent = viaProxy.get(proxy.href);
			if (!agent) {
				// No tunnel for http origins: absolute-form requests, as the downloads send them.
				agent = new ProxyAgent({ uri: proxy.href, proxyTunnel: options.origin?.toString().startsWith("https:") ?? true });
				viaProxy.set(proxy.href, agent);
			}
			return agent.dispatch(options, handler);
		}
		override async close(): Promise<void> {
			await Promise.all(all().map((d) => d.close()));
		}
		override async destroy(): Promise<void> {
			await Promise.all(all().map((d) => d.destroy()));
		}
	}
	return new EnvProxyDispatcher();
}
