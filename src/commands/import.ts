import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs import`: not built yet. */
export function importCommand(): Command {
	return new Command("import").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs import is not built yet");
	});
}
