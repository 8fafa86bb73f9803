import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { parse } from "yaml";
import { UsageError } from "../errors.js";
import { VIEW_LAYOUTS, type ViewLayout } from "../view/buildViewTree.js";
import { DEFAULT_PREFETCH_PATTERNS } from "../view/matchesPrefetch.js";
import { splitViewPath } from "../view/splitViewPath.js";
import type { BackendConfig, ModelfsConfig, ViewConfig } from "./ModelfsConfig.js";
import { parseModelList } from "./parseModelList.js";

export interface ReadConfigParams {
	/** The config file (YAML; JSON is YAML too). */
	path: string;
}

/**
 * Reads and checks the config file. Relative paths are taken from the file's
 * folder, `~/` from the home folder. Each backend's lowerdir is worked out
 * from its view: a view with prefix `huggingface/hub` serves a backend that
 * wants the hub at `huggingface/hub` (lower = the mount point) and one that
 * wants it at the target's root (lower = <mount point>/huggingface/hub), so
 * one FUSE mount serves both.
 */
export async function readConfig(params: ReadConfigParams): Promise<ModelfsConfig> {
	const path = resolve(params.path);
	let text: string;
	try {
		text = await readFile(path, "utf8");
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") {
			throw new UsageError("CONFIG_NOT_FOUND", `config file ${path} does not exist`, { hint: 'write one (see README, "Config file") or pass --config <file>' });
		}
		throw err;
	}
	let raw: unknown;
	try {
		raw = parse(text);
	} catch (err) {
		throw new UsageError("CONFIG_INVALID", `config file ${path} is not valid YAML/JSON: ${(err as Error).message.split("\n")[0]}`, {
			cause: err,
			hint: "fix the syntax at the line shown",
		});
	}
	return checkConfig(raw, path);
}

function fail(path: string, message: string, hint = 'see README, "Config file"'): never {
	throw new UsageError("CONFIG_INVALID", `config file ${path}: ${message}`, { hint });
}

function checkConfig(raw: unknown, path: string): ModelfsConfig {
	const base = dirname(path);
	const abs = (p: string) => (p.startsWith("~/") ? join(homedir(), p.slice(2)) : isAbsolute(p) ? resolve(p) : resolve(base, p));
	if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail(path, "expected a mapping with store, views and backends");
	const r = raw as Record<string, unknown>;
	const known = new Set(["store", "stateDir", "views", "backends", "models", "metrics"]);
	for (const k of Object.keys(r)) if (!known.has(k)) fail(path, `unknown key ${JSON.stringify(k)} (known: ${[...known].join(", ")})`);
	const str = (v: unknown, what: string, optional = false): string | undefined => {
		if (v === undefined && optional) return undefined;
		if (typeof v !== "string" || (v === "" && !optional)) fail(path, `${what} must be ${optional ? "a string" : "a non-empty string"}`);
		return v;
	};
	const store = abs(str(r.store, "store")!);
	const stateDir = abs(str(r.stateDir, "stateDir", true) ?? process.env.MODELFS_STATE_DIR ?? "/var/lib/modelfs");
	if (!Array.isArray(r.views) || r.views.length === 0) fail(path, "views must be a list with at least one view");
	const backendsRaw = r.backends ?? [];
	if (!Array.isArray(backendsRaw)) fail(path, "backends must be a list");

	const views: ViewConfig[] = [];
	const viewPrefixGiven = new Map<string, boolean>();
	for (const [i, v] of (r.views as unknown[]).entries()) {
		if (v === null || typeof v !== "object") fail(path, `views[${i}] must be a mapping`);
		const o = v as Record<string, unknown>;
		for (const k of Object.keys(o))
			if (!["name", "mountpoint", "layout", "prefix", "files", "template", "repos", "dropCaches", "prefetch"].includes(k))
				fail(path, `views[${i}]: unknown key ${JSON.stringify(k)}`);
		const name = str(o.name, `views[${i}].name`)!;
		if (views.some((x) => x.name === name)) fail(path, `two views are named ${name}`);
		const layout = (str(o.layout, `views[${i}].layout`, true) ?? "hf") as ViewLayout;
		if (!VIEW_LAYOUTS.includes(layout)) fail(path, `view ${name}: layout must be one of ${VIEW_LAYOUTS.join(", ")}`);
		if (o.files !== undefined && typeof o.files !== "boolean") fail(path, `view ${name}: files must be true or false`);
		if (o.dropCaches !== undefined && typeof o.dropCaches !== "boolean") fail(path, `view ${name}: dropCaches must be true or false`);
		if (o.repos !== undefined && (!Array.isArray(o.repos) || o.repos.some((x) => typeof x !== "string"))) fail(path, `view ${name}: repos must be a list of repo ids`);
		if (o.prefetch !== undefined && typeof o.prefetch !== "boolean" && (!Array.isArray(o.prefetch) || o.prefetch.some((x) => typeof x !== "string" || x === "")))
			fail(path, `view ${name}: prefetch must be true, false or a list of file patterns such as "*.safetensors"`);
		const prefix = str(o.prefix, `view ${name}: prefix`, true);
		viewPrefixGiven.set(name, prefix !== undefined);
		views.push({
			name,
			mountpoint: abs(str(o.mountpoint, `view ${name}: mountpoint`)!),
			layout,
			prefix: prefix === undefined ? "" : splitViewPath({ path: prefix, what: `view ${name}: prefix` }).join("/"),
			files: o.files === true,
			template: str(o.template, `view ${name}: template`, true),
			repos: o.repos as string[] | undefined,
			dropCaches: o.dropCaches === true,
			prefetch: o.prefetch === true ? [...DEFAULT_PREFETCH_PATTERNS] : Array.isArray(o.prefetch) ? (o.prefetch as string[]) : [],
		});
	}

	const backends: BackendConfig[] = [];
	for (const [i, b] of (backendsRaw as unknown[]).entries()) {
		if (b === null || typeof b !== "object") fail(path, `backends[${i}] must be a mapping`);
		const o = b as Record<string, unknown>;
		for (const k of Object.keys(o))
			if (!["name", "target", "view", "prefix", "upper", "work", "create"].includes(k)) fail(path, `backends[${i}]: unknown key ${JSON.stringify(k)}`);
		const name = str(o.name, `backends[${i}].name`)!;
		if (backends.some((x) => x.name === name)) fail(path, `two backends are named ${name}`);
		const viewName =
			str(o.view, `backend ${name}: view`, true) ??
			(views.length === 1 ? views[0].name : fail(path, `backend ${name}: say which view it reads (view: <name>), there are ${views.length}`));
		if (!views.some((v) => v.name === viewName)) fail(path, `backend ${name}: no view named ${viewName}`);
		const target = abs(str(o.target, `backend ${name}: target`)!);
		if (o.create !== undefined && typeof o.create !== "boolean") fail(path, `backend ${name}: create must be true or false`);
		const prefixGiven = o.prefix !== undefined;
		const view = views.find((v) => v.name === viewName)!;
		// A backend that says nothing of its prefix under a view that has one
		// would get the models at its folder's root: most likely a forgotten
		// `prefix: huggingface/hub`, so it must be said either way.
		if (!prefixGiven && viewPrefixGiven.get(viewName) && view.prefix !== "") {
			fail(
				path,
				`backend ${name} gives no prefix, but view ${viewName} has prefix ${JSON.stringify(view.prefix)}`,
				`say where the backend wants the hub: prefix: ${view.prefix} (models at ${target}/${view.prefix}), or prefix: "" (models at ${target} itself)`,
			);
		}
		if (backends.some((x) => x.target === target)) fail(path, `backend ${name}: target ${target} is already used by another backend`);
		backends.push({
			name,
			target,
			view: viewName,
			prefix: splitViewPath({ path: str(o.prefix, `backend ${name}: prefix`, true) ?? "", what: `backend ${name}: prefix` }).join("/"),
			lower: "",
			upper: o.upper === undefined ? undefined : abs(str(o.upper, `backend ${name}: upper`)!),
			work: o.work === undefined ? undefined : abs(str(o.work, `backend ${name}: work`)!),
			create: o.create === true,
		});
	}

	// A view without an explicit prefix takes the longest its backends need.
	for (const view of views) {
		if (viewPrefixGiven.get(view.name)) continue;
		const wanted = backends.filter((b) => b.view === view.name).map((b) => b.prefix);
		view.prefix = wanted.reduce((a, b) => (b.length > a.length ? b : a), "");
	}
	for (const b of backends) {
		const view = views.find((v) => v.name === b.view)!;
		const vp = view.prefix === "" ? [] : view.prefix.split("/");
		const bp = b.prefix === "" ? [] : b.prefix.split("/");
		const tail = vp.slice(vp.length - bp.length);
		if (bp.length > vp.length || tail.join("/") !== bp.join("/")) {
			fail(
				path,
				`backend ${b.name} wants the hub at ${JSON.stringify(b.prefix)} but view ${view.name} has prefix ${JSON.stringify(view.prefix)}`,
				`give view ${view.name} a prefix that ends with ${JSON.stringify(b.prefix)} (e.g. prefix: ${b.prefix || '""'}), or give the backend its own view`,
			);
		}
		const sub = vp.slice(0, vp.length - bp.length);
		b.lower = sub.length === 0 ? view.mountpoint : join(view.mountpoint, ...sub);
	}
	const models = parseModelList({ raw: r.models, path });
	let metrics: ModelfsConfig["metrics"] = null;
	if (r.metrics !== undefined) {
		const m = r.metrics as Record<string, unknown> | null;
		if (m === null || typeof m !== "object" || Array.isArray(m)) fail(path, "metrics must be a mapping {port, address}");
		const mm = m as Record<string, unknown>;
		for (const k of Object.keys(mm)) if (k !== "port" && k !== "address") fail(path, `metrics: unknown key ${JSON.stringify(k)}`);
		if (!Number.isInteger(mm.port) || (mm.port as number) < 0 || (mm.port as number) > 65535) fail(path, "metrics.port must be a TCP port (0-65535)");
		if (mm.address !== undefined && (typeof mm.address !== "string" || mm.address === "")) fail(path, "metrics.address must be an address such as 127.0.0.1");
		metrics = { port: mm.port as number, address: (mm.address as string | undefined) ?? "0.0.0.0" };
	}
	return { path, store, stateDir, views, backends, models, metrics };
}
