import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parse } from "yaml";
import { UsageError } from "../errors.js";
import type { ModelConfig } from "./ModelfsConfig.js";
import { parseModelList } from "./parseModelList.js";

export interface ReadModelsFileParams {
	/** A YAML or JSON file: a list of models, or a mapping with a `models:` list (a config file works too). */
	path: string;
}

/** Reads the model list of `modelfs sync --from <file>`. */
export async function readModelsFile(params: ReadModelsFileParams): Promise<ModelConfig[]> {
	const path = resolve(params.path);
	let raw: unknown;
	try {
		raw = parse(await readFile(path, "utf8"));
	} catch (err) {
		const code = (err as NodeJS.ErrnoException).code;
		if (code === "ENOENT") throw new UsageError("CONFIG_NOT_FOUND", `model list ${path} does not exist`, { hint: "give a YAML file with a models: list" });
		if (code !== undefined) throw err;
		throw new UsageError("CONFIG_INVALID", `model list ${path} is not valid YAML/JSON: ${(err as Error).message.split("\n")[0]}`, {
			cause: err,
			hint: "fix the syntax at the line shown",
		});
	}
	const list = Array.isArray(raw) ? raw : raw !== null && typeof raw === "object" ? (raw as Record<string, unknown>).models : undefined;
	if (list === undefined)
		throw new UsageError("CONFIG_INVALID", `model list ${path} has no models: list`, { hint: "write models: [Qwen/Qwen3-8B, {repo: org/name, revision: v1}]" });
	return parseModelList({ raw: list, path });
}
