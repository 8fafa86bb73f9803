import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs df`: not built yet. */
export function dfCommand(): Command {
	return new Command("df").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs df is not built yet");
	});
}
