import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs init`: not built yet. */
export function initCommand(): Command {
	return new Command("init").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs init is not built yet");
	});
}
