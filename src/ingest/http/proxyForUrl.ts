import { isIPv4 } from "node:net";

/**
 * The forward proxy for `url` from the environment, as curl and Python's
 * requests read it: `https_proxy`/`HTTPS_PROXY` for https, `http_proxy`/
 * `HTTP_PROXY` for http (lowercase first), unless `no_proxy`/`NO_PROXY`
 * names the host (`*`, a host or domain suffix, `host:port`, an IPv4 CIDR).
 * Only http:// proxies are supported (TLS to the target goes through a
 * CONNECT tunnel).
 */
export function proxyForUrl(url: URL, env: NodeJS.ProcessEnv = process.env): URL | null {
	const https = url.protocol === "https:";
	const raw = (https ? env.https_proxy || env.HTTPS_PROXY : env.http_proxy || env.HTTP_PROXY)?.trim();
	if (!raw) return null;
	const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
	const port = url.port || (https ? "443" : "80");
	if (bypassed(host, port, (env.no_proxy || env.NO_PROXY || "").trim())) return null;
	let proxy: URL;
	try {
		proxy = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
	} catch {
		throw new TypeError(`${https ? "HTTPS_PROXY" : "HTTP_PROXY"} is not a URL: ${JSON.stringify(raw.replace(/\/\/[^/@]*@/, "//"))}`);
	}
	if (proxy.protocol !== "http:") {
		throw new TypeError(
			`${https ? "HTTPS_PROXY" : "HTTP_PROXY"} is ${proxy.protocol}//${proxy.host}: only http:// proxies are supported (https targets go through a CONNECT tunnel)`,
		);
	}
	return proxy;
}

function bypassed(host: string, port: string, noProxy: string): boolean {
	if (noProxy === "") return false;
	for (const item of noProxy.split(/[\s,]+/)) {
		const entry = item.trim().toLowerCase();
		if (entry === "") continue;
		if (entry === "*") return true;
		const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(entry);
		if (cidr) {
			if (isIPv4(host) && inCidr(host, cidr[1], Number(cidr[2]))) return true;
			continue;
		}
		// host, .domain, host:port, [v6]:port, v6
		let name = entry;
		let entryPort: string | null = null;
		const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
		if (bracketed) {
			name = bracketed[1];
			entryPort = bracketed[2] ?? null;
		} else if ((entry.match(/:/g) ?? []).length === 1) {
			[name, entryPort] = entry.split(":");
		}
		if (entryPort !== null && entryPort !== port) continue;
		name = name.replace(/^\*?\./, "");
		if (host === name || host.endsWith(`.${name}`)) return true;
	}
	return false;
}

function inCidr(ip: string, base: string, bits: number): boolean {
	if (bits > 32) return false;
	const toInt = (a: string): number => a.split(".").reduce((n, part) => n * 256 + Number(part), 0);
	const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
	return (toInt(ip) & mask) >>> 0 === (toInt(base) & mask) >>> 0;
}
