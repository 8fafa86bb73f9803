import { describe, expect, it } from "vitest";
import { createPathFilter } from "../../../src/ingest/hub/createPathFilter.js";

const paths = ["config.json", "model-00001-of-00002.safetensors", "2_Dense/model.safetensors", "2_Dense/config.json", "original/consolidated.00.pth", "tokenizer.json", "a[1].txt"];

describe("createPathFilter", () => {
	it("keeps everything without patterns", () => {
		expect(paths.filter(createPathFilter())).toEqual(paths);
	});

	it("lets * cross folders, as hf download --include does", () => {
		expect(paths.filter(createPathFilter({ include: ["*.safetensors"] }))).toEqual(["model-00001-of-00002.safetensors", "2_Dense/model.safetensors"]);
	});

	it("applies excludes after includes, and a trailing / means the whole folder", () => {
		const keep = createPathFilter({ include: ["*.json", "*.safetensors"], exclude: ["2_Dense/"] });
		expect(paths.filter(keep)).toEqual(["config.json", "model-00001-of-00002.safetensors", "tokenizer.json"]);
		expect(paths.filter(createPathFilter({ exclude: ["original/*"] }))).not.toContain("original/consolidated.00.pth");
	});

	it("supports ? and [] classes and treats regex characters literally", () => {
		expect(paths.filter(createPathFilter({ include: ["model-0000?-of-*"] }))).toEqual(["model-00001-of-00002.safetensors"]);
		expect(paths.filter(createPathFilter({ include: ["[ct]*.json"] }))).toEqual(["config.json", "tokenizer.json"]);
		expect(paths.filter(createPathFilter({ include: ["[!ct]*.json"] }))).toEqual(["2_Dense/config.json"]);
		expect(createPathFilter({ include: ["config.json"] })("configXjson")).toBe(false);
		expect(createPathFilter({ include: ["a[1].txt"] })("a1.txt")).toBe(true);
	});

	it("rejects empty patterns", () => {
		expect(() => createPathFilter({ include: [""] })).toThrow(TypeError);
	});
});
