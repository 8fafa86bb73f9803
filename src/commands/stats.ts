import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs stats`: not built yet. */
export function statsCommand(): Command {
	return new Command("stats").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs stats is not built yet");
	});
}
