import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs verify`: not built yet. */
export function verifyCommand(): Command {
	return new Command("verify").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs verify is not built yet");
	});
}
