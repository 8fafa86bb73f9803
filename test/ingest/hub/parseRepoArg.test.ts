import { describe, expect, it } from "vitest";
import { UsageError } from "../../../src/errors.js";
import { parseRepoArg } from "../../../src/ingest/hub/parseRepoArg.js";

describe("parseRepoArg", () => {
	it("reads org/name, a bare name, datasets/ prefixes and hub URLs", () => {
		expect(parseRepoArg({ repo: "Qwen/Qwen3-8B" })).toEqual({ type: "model", name: "Qwen/Qwen3-8B" });
		expect(parseRepoArg({ repo: "gpt2" })).toEqual({ type: "model", name: "gpt2" });
		expect(parseRepoArg({ repo: "datasets/org/data" })).toEqual({ type: "dataset", name: "org/data" });
		expect(parseRepoArg({ repo: "org/data", repoType: "dataset" })).toEqual({ type: "dataset", name: "org/data" });
		expect(parseRepoArg({ repo: "https://huggingface.co/org/name/tree/main" })).toEqual({ type: "model", name: "org/name" });
		expect(parseRepoArg({ repo: "https://huggingface.co/datasets/org/data" })).toEqual({ type: "dataset", name: "org/data" });
	});

	it.each(["", "a/b/c", "../x", "org/..", "org/na--me", "-org/name", "org/name\0", "spaces/org/app"])("refuses %j with a UsageError", (repo) => {
		expect(() => parseRepoArg({ repo })).toThrow(UsageError);
	});

	it("refuses a prefix that disagrees with --repo-type, and an unknown type", () => {
		expect(() => parseRepoArg({ repo: "datasets/org/data", repoType: "model" })).toThrow(/names a dataset but --repo-type is model/);
		expect(() => parseRepoArg({ repo: "org/x", repoType: "space" })).toThrow(UsageError);
	});
});
