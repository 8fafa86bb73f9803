import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs ingest`: not built yet. */
export function ingestCommand(): Command {
	return new Command("ingest").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs ingest is not built yet");
	});
}
