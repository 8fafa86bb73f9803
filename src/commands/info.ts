import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs info`: not built yet. */
export function infoCommand(): Command {
	return new Command("info").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs info is not built yet");
	});
}
