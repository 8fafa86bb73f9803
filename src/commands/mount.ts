import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs mount`: not built yet. */
export function mountCommand(): Command {
	return new Command("mount").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs mount is not built yet");
	});
}
