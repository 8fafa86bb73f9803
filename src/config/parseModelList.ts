import { UsageError } from "../errors.js";
import { parseRepoSpec } from "../store/names/parseRepoSpec.js";
import type { RepoId } from "../store/StoreTypes.js";
import type { ModelConfig } from "./ModelfsConfig.js";

export interface ParseModelListParams {
	/** The `models:` value as parsed from YAML/JSON. */
	raw: unknown;
	/** The file it came from, for messages. */
	path: string;
}

/**
 * Checks a `models:` list (the config's, or a `sync --from` file's): each
 * entry a repo id (`org/name`, `datasets/org/name`) or a mapping
 * `{repo, type, revision, include, exclude}`. Throws CONFIG_INVALID naming
 * the entry.
 */
export function parseModelList(params: ParseModelListParams): ModelConfig[] {
	const { raw, path } = params;
	const fail = (message: string): never => {
		throw new UsageError("CONFIG_INVALID", `${path}: ${message}`, { hint: 'each model is a repo id or {repo: org/name, revision: main, include: ["*.safetensors"]}' });
	};
	if (raw === undefined || raw === null) return [];
	if (!Array.isArray(raw)) fail("models must be a list");
	const models: ModelConfig[] = [];
	for (const [i, entry] of (raw as unknown[]).entries()) {
		const o = typeof entry === "string" ? { repo: entry } : entry;
		if (o === null || typeof o !== "object" || Array.isArray(o)) fail(`models[${i}] must be a repo id or a mapping`);
		const m = o as Record<string, unknown>;
		for (const k of Object.keys(m)) if (!["repo", "type", "revision", "include", "exclude"].includes(k)) fail(`models[${i}]: unknown key ${JSON.stringify(k)}`);
		if (typeof m.repo !== "string" || m.repo === "") fail(`models[${i}].repo must be a repo id such as Qwen/Qwen3-8B`);
		if (m.type !== undefined && m.type !== "model" && m.type !== "dataset") fail(`models[${i}].type must be model or dataset`);
		if (m.revision !== undefined && (typeof m.revision !== "string" || m.revision === "")) fail(`models[${i}].revision must be a branch, tag or commit`);
		for (const k of ["include", "exclude"] as const) {
			if (m[k] !== undefined && (!Array.isArray(m[k]) || (m[k] as unknown[]).some((x) => typeof x !== "string"))) fail(`models[${i}].${k} must be a list of patterns`);
		}
		let repo: RepoId;
		try {
			const spec = parseRepoSpec((m.repo as string).replace(/^models\//, ""), m.type as "model" | "dataset" | undefined);
			if (spec.revision !== undefined) fail(`models[${i}]: give the revision as revision: ${spec.revision}, not in the repo id`);
			repo = { type: spec.type ?? "model", name: spec.name };
		} catch (err) {
			if ((err as { code?: string }).code === "CONFIG_INVALID") throw err;
			return fail(`models[${i}]: ${(err as Error).message}`);
		}
		const model: ModelConfig = {
			repo,
			revision: (m.revision as string | undefined) ?? "main",
			include: (m.include as string[] | undefined) ?? [],
			exclude: (m.exclude as string[] | undefined) ?? [],
		};
		const key = (x: ModelConfig) => `${x.repo.type}:${x.repo.name}@${x.revision}`;
		if (models.some((x) => key(x) === key(model))) fail(`models[${i}]: ${m.repo}@${model.revision} is listed twice`);
		models.push(model);
	}
	return models;
}
