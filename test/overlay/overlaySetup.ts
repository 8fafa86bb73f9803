import { chmodSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bytes, type FakeHubFile, tempDir, unmountOnFinish, writeHubCache } from "./fixtures.js";

export interface SetupParams {
	/** Folder to build in. @default a new temp dir (realpath'd, removed when the test ends) */
	root?: string;
	/** The one repo of the lower. @default "org/model" */
	repo?: string;
	/** Its files. @default a config, 3 MiB of weights and a nested file */
	files?: FakeHubFile[];
	/** Its commit. @default derived from the repo */
	commit?: string;
}

/**
 * A lower (a plain folder shaped like the view, one repo), an empty target
 * unmounted when the test ends, and a state dir.
 */
export function setup(params: SetupParams = {}) {
	const root = params.root ?? realpathSync(tempDir());
	const lower = join(root, "view");
	const target = join(root, "backend-cache");
	const stateDir = join(root, "state");
	const commit = writeHubCache({
		dir: lower,
		repo: params.repo ?? "org/model",
		files: params.files ?? [
			{ path: "config.json", bytes: Buffer.from('{"a":1}') },
			{ path: "model.safetensors", bytes: bytes("w", 3 << 20) },
			{ path: "sub/dir/tok.json", bytes: Buffer.from("tok") },
		],
		commit: params.commit,
	});
	mkdirSync(target);
	unmountOnFinish(target);
	return { root, lower, target, stateDir, commit };
}

/** Old contents a backend cache folder might hold before modelfs. */
export function seedOldContents(target: string): void {
	writeHubCache({ dir: join(target, "huggingface", "hub"), repo: "old/model", files: [{ path: "w.bin", bytes: bytes("old", 1 << 20) }] });
	mkdirSync(join(target, "torch_compile", "x"), { recursive: true });
	writeFileSync(join(target, "torch_compile", "x", "kernel.so"), bytes("k", 70_000));
	chmodSync(join(target, "torch_compile", "x", "kernel.so"), 0o755);
	symlinkSync("torch_compile/x", join(target, "latest"));
	writeFileSync(join(target, "empty"), "");
}
