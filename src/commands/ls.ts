import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs ls`: not built yet. */
export function lsCommand(): Command {
	return new Command("ls").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs ls is not built yet");
	});
}
