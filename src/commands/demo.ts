import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs demo`: not built yet. */
export function demoCommand(): Command {
	return new Command("demo").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs demo is not built yet");
	});
}
