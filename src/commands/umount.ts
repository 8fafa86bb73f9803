import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs umount`: not built yet. */
export function umountCommand(): Command {
	return new Command("umount").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs umount is not built yet");
	});
}
