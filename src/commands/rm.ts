import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs rm`: not built yet. */
export function rmCommand(): Command {
	return new Command("rm").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs rm is not built yet");
	});
}
