import { existsSync } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { defaultConfigPath } from "../config/defaultConfigPath.js";
import { readConfig } from "../config/readConfig.js";
import { MountError } from "../errors.js";
import { type BackendStatus, collectStatus, type Status, type ViewStatus } from "../node/collectStatus.js";
import { formatBytes } from "../progress/formatBytes.js";

interface StatusOptions {
	config?: string;
	requireUp?: boolean;
	maxAge?: number;
	json?: boolean;
}

/** `30s`, `15m`, `2h`, `1d` (or plain seconds) -> seconds. */
function duration(value: string): number {
	const m = /^(\d+(?:\.\d+)?)(s|m|h|d)?$/.exec(value.trim());
	if (!m) throw new InvalidArgumentError("expected a duration such as 90s, 15m, 2h or 1d");
	return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? "s") as "s" | "m" | "h" | "d"];
}

/** `modelfs status`: the views and backend overlays, mounted or not, with counters. */
export function statusCommand(): Command {
	return new Command("status")
		.description("show modelfs views (processes, version, catalog, whether a fresh lookup answers, counters) and each backend overlay (what it stands on)")
		.option("--config <file>", "config file (default: $MODELFS_CONFIG, else /etc/modelfs/config.yaml; without one, only what is mounted)")
		.option(
			"--require-up",
			"exit 5 unless every configured view is live and answers and every backend folder is mounted on a live view (readiness probe); with --max-age, also unless each view shows a catalog that recent",
		)
		.option("--max-age <duration>", "with --require-up: a view may lag behind the store's newest catalog for at most this long after it was published (e.g. 10m)", duration)
		.option("--json", "print the status as JSON")
		.action(async (opts: StatusOptions) => {
			const path = defaultConfigPath({ config: opts.config });
			const config = opts.config !== undefined || existsSync(path) ? await readConfig({ path }) : null;
			const status = await collectStatus({ config });
			if (opts.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
			else process.stdout.write(render(status));
			if (opts.requireUp) {
				const down = notUp(status, opts.maxAge ?? null);
				if (down.length > 0) throw new MountError("STATUS_NOT_UP", `not up: ${down.join(", ")}`, { hint: "run modelfs up (see modelfs status for the details)" });
			}
		});
}

/** What keeps a readiness probe from passing, one entry per view or backend. */
function notUp(s: Status, maxAgeSeconds: number | null): string[] {
	const out: string[] = [];
	for (const v of s.views) {
		if (v.name === null) continue;
		if (v.state !== "live" && v.state !== "degraded") out.push(`view ${v.name} (${v.state})`);
		else if (maxAgeSeconds !== null && v.stale && v.storeCatalogAt !== null && Date.now() - Date.parse(v.storeCatalogAt) > maxAgeSeconds * 1000) {
			out.push(`view ${v.name} (shows catalog ${v.catalogGeneration}, the store has had ${v.storeGeneration} for more than ${maxAgeSeconds} s)`);
		}
	}
	for (const b of s.backends) {
		if (b.name === null) continue;
		if (!b.mounted) out.push(`backend ${b.name}`);
		else if (b.standsOn !== "live") out.push(`backend ${b.name} (its overlay stands on a ${b.standsOn} view${b.answers?.errno ? `: ${b.answers.errno}` : ""})`);
	}
	return out;
}

function pid(p: ViewStatus["holder"]): string {
	if (p.pid === null) return "none";
	return `${p.pid}${p.alive ? "" : " (gone)"}`;
}

function renderView(v: ViewStatus, s: Status): string[] {
	const name = v.name ?? "(not in config)";
	if (!v.mounted) return [`view ${name}  ${v.mountpoint}  not mounted`];
	const lookup =
		v.answers === null
			? "-"
			: v.answers.state === "answers"
				? `answers in ${(v.answers.seconds * 1000).toFixed(1)} ms`
				: `${v.answers.state}${v.answers.errno ? ` (${v.answers.errno})` : ""}`;
	const stale = v.stale ? ` (store has ${s.storeGeneration}: modelfs refresh shows the new models in place)` : "";
	const lines = [
		`view ${name}  ${v.mountpoint}  ${v.state}  ${v.layout ?? "?"} layout  ${v.files ?? "?"} files  ${sizeOrDash(v.bytes)}  catalog ${v.catalogGeneration ?? "?"}${stale}`,
		`  holder ${pid(v.holder)}  daemon ${pid(v.daemon)}  modelfs-fused ${v.daemon.version || "?"}${v.holder.version && v.holder.version !== v.daemon.version ? ` (holder ${v.holder.version})` : ""}  since ${v.startedAt ?? "?"}  restarts: daemon ${v.restarts.daemon}, holder ${v.restarts.holder}${v.parked ? "  fds parked in an fd store" : ""}`,
		`  fresh lookup: ${lookup}${v.lastRefreshAt ? `  last refresh ${v.lastRefreshAt}` : ""}`,
	];
	const c = v.counters;
	if (c !== null) {
		lines.push(
			`  reads: ${c.passthrough ? "passthrough" : "daemon-served"}  opens ${c.opens} (passthrough ${c.passthroughOpens})  backing files open ${c.backingIdsOpen}  fallback reads ${c.fallbackReads} (${formatBytes(c.fallbackBytes)})  requests ${c.requests}  errors ${c.errors}  blob errors ${c.blobErrors}`,
		);
	}
	for (const n of v.otherNamespaces) lines.push(`  also used by pids ${n.pids.join(", ")} in another mount namespace (a container), at ${n.mountpoints.join(", ")}`);
	return lines;
}

function renderBackend(b: BackendStatus): string[] {
	const name = b.name ?? "(not in config)";
	const on = b.mounted ? `  stands on ${b.standsOn === "live" ? "the live view" : `a ${b.standsOn} view`}${b.view ? ` ${b.view}` : ""}` : "";
	const lines = [
		`backend ${name}  ${b.target}  ${b.mounted ? "mounted" : "not mounted"}${on}  lower ${b.lower ?? "-"}  upper ${b.upper ?? "-"}  files served ${b.filesServed ?? "-"}  upper ${b.upperFiles ?? 0} files ${sizeOrDash(b.upperBytes)}`,
	];
	if (b.standsOn === "replaced" || b.standsOn === "dead") lines.push(`  readers get ENOTCONN here: modelfs up mounts it again when nothing holds it`);
	for (const n of b.otherNamespaces) lines.push(`  held by pids ${n.pids.join(", ")} in another mount namespace (a running container: its own copy of this overlay)`);
	if (b.hidden !== null && b.hidden.length > 0) {
		lines.push(`  the upper layer hides ${b.hidden.length} of the view's entries (e.g. ${b.hidden[0].path}): modelfs overlay unhide ${b.target} shows them again`);
	}
	if (b.upperUnreadable.length > 0) {
		lines.push(`  could not read ${b.upperUnreadable.length} folder(s) of the upper layer (e.g. ${b.upperUnreadable[0]}): permission denied; run as root for the whole figure`);
	}
	return lines;
}

function render(s: Status): string {
	const lines: string[] = [];
	if (s.views.length === 0) lines.push("no modelfs views");
	for (const v of s.views) lines.push(...renderView(v, s));
	if (s.backends.length === 0) lines.push("no backends");
	for (const b of s.backends) lines.push(...renderBackend(b));
	for (const d of s.detachedViews) {
		const pids = d.otherNamespaces.flatMap((n) => n.pids);
		lines.push(
			`detached view ${d.mountpoint ?? "?"} (${d.runtimeDir})  daemon ${pid(d.daemon)}  still serves pids ${pids.join(", ")} in other mount namespaces; it ends by itself when they let go`,
		);
	}
	return `${lines.join("\n")}\n`;
}

function sizeOrDash(n: number | null): string {
	return n === null ? "-" : formatBytes(n);
}
