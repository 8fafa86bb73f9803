import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs gc`: not built yet. */
export function gcCommand(): Command {
	return new Command("gc").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs gc is not built yet");
	});
}
