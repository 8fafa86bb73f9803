import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getGlobalDispatcher, setGlobalDispatcher } from "undici";
import { describe, expect, it, onTestFinished } from "vitest";
import { installEnvProxyDispatcher } from "../../../src/ingest/http/installEnvProxyDispatcher.js";
import { startHttpProxy } from "../../support/startHttpProxy.js";

describe("installEnvProxyDispatcher", () => {
	it("installs nothing when no proxy variable is set", async () => {
		const before = getGlobalDispatcher();
		expect(await installEnvProxyDispatcher({ env: { NO_PROXY: "*" } })).toBe(false);
		expect(getGlobalDispatcher()).toBe(before);
	});

	it("refuses a proxy URL that cannot work, whatever NO_PROXY says, before any request", async () => {
		const before = getGlobalDispatcher();
		await expect(installEnvProxyDispatcher({ env: { HTTPS_PROXY: "https://127.0.0.1:1", NO_PROXY: "*" } })).rejects.toMatchObject({ code: "PROXY_INVALID" });
		await expect(installEnvProxyDispatcher({ env: { http_proxy: "http://[bad" } })).rejects.toMatchObject({ code: "PROXY_INVALID" });
		expect(getGlobalDispatcher()).toBe(before);
	});

	it("sends fetch requests through HTTP_PROXY, and straight to hosts in NO_PROXY", async () => {
		const server = createServer((_req, res) => res.end("ok"));
		await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
		const proxy = await startHttpProxy();
		const before = getGlobalDispatcher();
		onTestFinished(async () => {
			setGlobalDispatcher(before);
			await proxy.close();
			server.closeAllConnections();
			await new Promise<void>((r) => server.close(() => r()));
		});
		const env: NodeJS.ProcessEnv = { HTTP_PROXY: proxy.url };
		expect(await installEnvProxyDispatcher({ env })).toBe(true);
		const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
		expect(await (await fetch(url)).text()).toBe("ok");
		expect(proxy.requests).toEqual([`GET ${url} HTTP/1.1`]);
		// The variables are read per request.
		env.NO_PROXY = "127.0.0.1";
		expect(await (await fetch(url)).text()).toBe("ok");
		expect(proxy.requests).toHaveLength(1);
	});
});
