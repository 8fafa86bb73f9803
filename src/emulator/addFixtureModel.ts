import type { EmulatorRepoType } from "./EmulatorTypes.js";
import type { FixtureModelFilesParams } from "./fixtureModelFiles.js";
import { fixtureModelFiles } from "./fixtureModelFiles.js";
import type { HubEmulator } from "./HubEmulator.js";

export interface AddFixtureModelParams extends FixtureModelFilesParams {
	/** The emulator state (`running.hub`). */
	hub: HubEmulator;
	/** Repo name. @default "modelfs-test/tiny-model" */
	name?: string;
	/** @default "model" */
	type?: EmulatorRepoType;
}

export interface FixtureModel {
	name: string;
	type: EmulatorRepoType;
	/** [first, second]; `main` points at the second. */
	commits: [string, string];
}

/**
 * Adds the tiny fixture model (fixtureModelFiles) to an emulator as two
 * commits on `main`; `main` ends at the second.
 */
export async function addFixtureModel(params: AddFixtureModelParams): Promise<FixtureModel> {
	if (!params.hub) throw new TypeError("addFixtureModel: `hub` is required");
	const name = params.name ?? "modelfs-test/tiny-model";
	const type = params.type ?? "model";
	const files = fixtureModelFiles(params);
	const first = await params.hub.commit({ repo: name, type, files: files.first, message: "initial commit" });
	const second = await params.hub.commit({ repo: name, type, files: files.second, message: "bf16 config, merges" });
	return { name, type, commits: [first, second] };
}
