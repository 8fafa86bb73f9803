import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs up`: not built yet. */
export function upCommand(): Command {
	return new Command("up").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs up is not built yet");
	});
}
