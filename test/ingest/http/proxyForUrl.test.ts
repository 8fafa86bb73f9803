import { afterEach, describe, expect, it, vi } from "vitest";
import { proxyForUrl } from "../../../src/ingest/http/proxyForUrl.js";

const PROXY = "http://proxy.test:3128";

/** The proxy chosen for `target` under `env`, as `host:port`, or null. */
function chosen(target: string, env: NodeJS.ProcessEnv): string | null {
	const p = proxyForUrl(new URL(target), env);
	return p === null ? null : `${p.protocol}//${p.host}`;
}

afterEach(() => {
	vi.unstubAllEnvs();
});

describe("proxyForUrl", () => {
	describe("which variable applies", () => {
		it.each<[string, string, NodeJS.ProcessEnv, string | null]>([
			["https target, https_proxy", "https://hub.test/x", { https_proxy: PROXY }, "http://proxy.test:3128"],
			["https target, HTTPS_PROXY", "https://hub.test/x", { HTTPS_PROXY: PROXY }, "http://proxy.test:3128"],
			["https target, lower case wins over upper case", "https://hub.test/x", { https_proxy: "http://lower.test:1", HTTPS_PROXY: "http://upper.test:2" }, "http://lower.test:1"],
			["https target ignores the http variables", "https://hub.test/x", { http_proxy: PROXY, HTTP_PROXY: PROXY }, null],
			["http target, http_proxy", "http://hub.test/x", { http_proxy: PROXY }, "http://proxy.test:3128"],
			["http target, HTTP_PROXY", "http://hub.test/x", { HTTP_PROXY: PROXY }, "http://proxy.test:3128"],
			["http target, lower case wins over upper case", "http://hub.test/x", { http_proxy: "http://lower.test:1", HTTP_PROXY: "http://upper.test:2" }, "http://lower.test:1"],
			["http target ignores the https variables", "http://hub.test/x", { https_proxy: PROXY, HTTPS_PROXY: PROXY }, null],
			["no variable set", "https://hub.test/x", {}, null],
			["empty https_proxy means none", "https://hub.test/x", { https_proxy: "" }, null],
			["empty HTTPS_PROXY means none", "https://hub.test/x", { HTTPS_PROXY: "" }, null],
			["empty http_proxy and HTTP_PROXY mean none", "http://hub.test/x", { http_proxy: "", HTTP_PROXY: "" }, null],
		])("%s", (_name, target, env, want) => {
			expect(chosen(target, env)).toBe(want);
		});

		it("gives a proxy without a scheme http://", () => {
			const p = proxyForUrl(new URL("https://hub.test/x"), { HTTPS_PROXY: "proxy.test:3128" });
			expect(p?.protocol).toBe("http:");
			expect(p?.hostname).toBe("proxy.test");
			expect(p?.port).toBe("3128");
		});

		it("keeps credentials given in the proxy URL", () => {
			const p = proxyForUrl(new URL("https://hub.test/x"), { HTTPS_PROXY: "http://user:p%40ss@proxy.test:3128" });
			expect(p?.username).toBe("user");
			expect(decodeURIComponent(p?.password ?? "")).toBe("p@ss");
			expect(p?.host).toBe("proxy.test:3128");
		});

		it("reads only the env it is given, not process.env", () => {
			vi.stubEnv("HTTPS_PROXY", PROXY);
			vi.stubEnv("https_proxy", PROXY);
			expect(proxyForUrl(new URL("https://hub.test/x"), {})).toBeNull();
		});

		it("reads process.env when no env is given", () => {
			vi.stubEnv("https_proxy", "");
			vi.stubEnv("HTTPS_PROXY", PROXY);
			vi.stubEnv("no_proxy", "");
			vi.stubEnv("NO_PROXY", "");
			expect(proxyForUrl(new URL("https://hub.test/x"))?.host).toBe("proxy.test:3128");
		});
	});

	describe("no_proxy", () => {
		// [no_proxy value, target, whether the target still goes through the proxy]
		const cases: Array<[string, string, boolean]> = [
			["*", "https://hub.test/x", false],
			["*", "http://10.1.2.3:8080/x", false],
			["hub.test", "https://hub.test/x", false],
			["hub.test", "https://cdn.hub.test/x", false],
			["hub.test", "https://a.b.hub.test/x", false],
			[".hub.test", "https://cdn.hub.test/x", false],
			[".hub.test", "https://hub.test/x", false],
			// A suffix match stops at a label boundary.
			["hub.test", "https://myhub.test/x", true],
			[".hub.test", "https://myhub.test/x", true],
			["cdn.hub.test", "https://hub.test/x", true],
			["other.test", "https://hub.test/x", true],
			// Lists: commas, spaces, both.
			["other.test,hub.test", "https://hub.test/x", false],
			["other.test hub.test", "https://hub.test/x", false],
			["other.test, hub.test", "https://hub.test/x", false],
			["other.test, ,", "https://hub.test/x", true],
			["", "https://hub.test/x", true],
			// Ports: an entry with a port matches that port only; default ports count.
			["hub.test:8443", "https://hub.test:8443/x", false],
			["hub.test:8443", "https://hub.test:9443/x", true],
			["hub.test:8443", "https://hub.test/x", true],
			["hub.test:443", "https://hub.test/x", false],
			["hub.test:80", "http://hub.test/x", false],
			["hub.test:80", "https://hub.test/x", true],
			["hub.test", "https://hub.test:8443/x", false],
			[".hub.test:8443", "https://cdn.hub.test:8443/x", false],
			// IPv4 literals and CIDR blocks.
			["127.0.0.1", "http://127.0.0.1:8080/x", false],
			["127.0.0.1", "http://127.0.0.2:8080/x", true],
			["127.0.0.1:8080", "http://127.0.0.1:8080/x", false],
			["127.0.0.1:8080", "http://127.0.0.1:9090/x", true],
			["10.0.0.0/8", "http://10.200.3.4/x", false],
			["10.0.0.0/8", "http://11.0.0.1/x", true],
			["192.168.1.0/24", "https://192.168.1.77/x", false],
			["192.168.1.0/24", "https://192.168.2.77/x", true],
			["192.168.1.7/32", "https://192.168.1.7/x", false],
			["192.168.1.7/32", "https://192.168.1.8/x", true],
			["0.0.0.0/0", "https://203.0.113.9/x", false],
			["10.0.0.0/8", "https://hub.test/x", true],
			// IPv6 literals, with or without brackets in the entry.
			["::1", "http://[::1]:8080/x", false],
			["[::1]", "http://[::1]:8080/x", false],
			["[::1]:8080", "http://[::1]:8080/x", false],
			["[::1]:8080", "http://[::1]:9090/x", true],
			["::1", "http://[::2]:8080/x", true],
		];

		it.each(cases)("NO_PROXY=%j, %s: proxied %s", (noProxy, target, proxied) => {
			const env = { HTTP_PROXY: PROXY, HTTPS_PROXY: PROXY, NO_PROXY: noProxy };
			expect(chosen(target, env)).toBe(proxied ? "http://proxy.test:3128" : null);
		});

		it("reads no_proxy (lower case) too", () => {
			expect(chosen("https://hub.test/x", { HTTPS_PROXY: PROXY, no_proxy: "hub.test" })).toBeNull();
			expect(chosen("https://other.test/x", { HTTPS_PROXY: PROXY, no_proxy: "hub.test" })).toBe("http://proxy.test:3128");
		});
	});

	describe("unsupported proxies", () => {
		it.each(["https://proxy.test:3128", "socks5://proxy.test:1080"])("throws a TypeError for %s", (proxy) => {
			expect(() => proxyForUrl(new URL("https://hub.test/x"), { HTTPS_PROXY: proxy })).toThrow(TypeError);
			expect(() => proxyForUrl(new URL("http://hub.test/x"), { HTTP_PROXY: proxy })).toThrow(TypeError);
		});

		it("names the https proxy in its message", () => {
			expect(() => proxyForUrl(new URL("https://hub.test/x"), { HTTPS_PROXY: "https://proxy.test:3128" })).toThrow(/https/);
		});
	});
});
