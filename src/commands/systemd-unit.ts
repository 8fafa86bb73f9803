import { Command } from "commander";
import { ModelfsError } from "../errors.js";

/** `modelfs systemd-unit`: not built yet. */
export function systemdUnitCommand(): Command {
	return new Command("systemd-unit").description("(not built yet)").action(() => {
		throw new ModelfsError("NOT_IMPLEMENTED", "modelfs systemd-unit is not built yet");
	});
}
