import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs absorb`: not built yet. */
export function absorbCommand(): Command {
	return new Command("absorb").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs absorb is not built yet");
	});
}
