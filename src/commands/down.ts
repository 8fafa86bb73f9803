import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs down`: not built yet. */
export function downCommand(): Command {
	return new Command("down").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs down is not built yet");
	});
}
