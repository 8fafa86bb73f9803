import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { VIEW_IMAGE_FORMAT } from "../../src/view/viewImageFormat.js";
import { repoRoot } from "../support/runCli.js";

describe("VIEW_IMAGE_FORMAT", () => {
	it("matches the daemon's C declaration (native/view_image.h, printed by build/image-layout)", () => {
		const tool = join(repoRoot, "native", "build", "image-layout");
		// npm install builds it with the daemon; build it here if a test run came first.
		if (!existsSync(tool)) execFileSync("make", ["-s", "-C", join(repoRoot, "native"), "build/image-layout"]);
		const c = JSON.parse(execFileSync(tool, { encoding: "utf8" }));
		expect(JSON.parse(JSON.stringify(VIEW_IMAGE_FORMAT))).toEqual(c);
	});
});
