import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs check`: not built yet. */
export function checkCommand(): Command {
	return new Command("check").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs check is not built yet");
	});
}
