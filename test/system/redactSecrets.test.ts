import { describe, expect, it } from "vitest";
import { redactSecrets } from "../../src/system/redactSecrets.js";

describe("redactSecrets", () => {
	it("hides every occurrence of each secret, whatever its format, longest first", () => {
		const text = "hub said: invalid token mirror-tok-123 (Bearer mirror-tok-123); url https://u:mirror-tok-1234@h/";
		expect(redactSecrets({ text, secrets: ["mirror-tok-123", "mirror-tok-1234"] })).toBe("hub said: invalid token *** (Bearer ***); url https://u:***@h/");
	});

	it("leaves text alone when no secret is known, and ignores empty or tiny values", () => {
		expect(redactSecrets({ text: "a b c", secrets: ["", "a"] })).toBe("a b c");
	});
});
