import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs status`: not built yet. */
export function statusCommand(): Command {
	return new Command("status").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs status is not built yet");
	});
}
