import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs overlay`: not built yet. */
export function overlayCommand(): Command {
	return new Command("overlay").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs overlay is not built yet");
	});
}
