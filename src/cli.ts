#!/usr/bin/env node
import { createRequire } from "node:module";
/**
 * The modelfs command line. This file only registers the commands (one file
 * each under src/commands/) and maps errors to exit codes; commands set
 * process.exitCode themselves and never call process.exit(), so `finally`
 * blocks run and LMDB flushes.
 */
import { Command, CommanderError } from "commander";
import { absorbCommand } from "./commands/absorb.js";
import { checkCommand } from "./commands/check.js";
import { demoCommand } from "./commands/demo.js";
import { dfCommand } from "./commands/df.js";
import { downCommand } from "./commands/down.js";
import { evictCommand } from "./commands/evict.js";
import { gcCommand } from "./commands/gc.js";
import { importCommand } from "./commands/import.js";
import { infoCommand } from "./commands/info.js";
import { ingestCommand } from "./commands/ingest.js";
import { initCommand } from "./commands/init.js";
import { lsCommand } from "./commands/ls.js";
import { mountCommand } from "./commands/mount.js";
import { overlayCommand } from "./commands/overlay.js";
import { rmCommand } from "./commands/rm.js";
import { scanCommand } from "./commands/scan.js";
import { statsCommand } from "./commands/stats.js";
import { statusCommand } from "./commands/status.js";
import { systemdUnitCommand } from "./commands/systemd-unit.js";
import { umountCommand } from "./commands/umount.js";
import { upCommand } from "./commands/up.js";
import { verifyCommand } from "./commands/verify.js";
import { warmCommand } from "./commands/warm.js";
import { HubError, IndexError, InterruptedError, ModelfsError, MountError, StoreError, UsageError } from "./errors.js";

/** Exit codes, documented in README.md. */
export const EXIT = {
	ok: 0,
	unexpected: 1,
	usage: 2,
	hub: 3,
	store: 4,
	mount: 5,
	interrupted: 130,
} as const;

const commands: Array<() => Command> = [
	initCommand,
	scanCommand,
	importCommand,
	ingestCommand,
	lsCommand,
	infoCommand,
	dfCommand,
	rmCommand,
	gcCommand,
	verifyCommand,
	mountCommand,
	umountCommand,
	statusCommand,
	statsCommand,
	overlayCommand,
	absorbCommand,
	upCommand,
	downCommand,
	checkCommand,
	warmCommand,
	evictCommand,
	systemdUnitCommand,
	demoCommand,
];

function exitCodeFor(err: unknown): number {
	if (err instanceof InterruptedError) return EXIT.interrupted;
	if (err instanceof UsageError) return EXIT.usage;
	if (err instanceof HubError) return EXIT.hub;
	if (err instanceof StoreError || err instanceof IndexError) return EXIT.store;
	if (err instanceof MountError) return EXIT.mount;
	if (err instanceof ModelfsError) return EXIT.unexpected;
	return EXIT.unexpected;
}

function report(err: unknown): void {
	const debug = process.env.MODELFS_DEBUG === "1";
	if (err instanceof ModelfsError) {
		process.stderr.write(`modelfs: ${err.message}\n`);
		if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
		if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
		if (debug && err.cause) process.stderr.write(`cause: ${String((err.cause as Error)?.stack ?? err.cause)}\n`);
		return;
	}
	const message = err instanceof Error ? err.message : String(err);
	process.stderr.write(`modelfs: unexpected error: ${message}\n`);
	process.stderr.write(debug && err instanceof Error && err.stack ? `${err.stack}\n` : "hint: run again with MODELFS_DEBUG=1 for the stack trace and report it\n");
}

export function buildProgram(): Command {
	const require = createRequire(import.meta.url);
	const { version } = require("../package.json") as { version: string };
	const program = new Command("modelfs")
		.description(
			"One copy of every model file on shared storage, shown to each inference backend\n" +
				"(vLLM, SGLang, TensorRT-LLM) as the cache folder it already expects:\n" +
				"a read-only FUSE view used as the lowerdir of overlayfs.",
		)
		.version(version)
		.showSuggestionAfterError()
		.exitOverride();
	program.addHelpText(
		"after",
		"\nExit codes: 0 ok, 1 unexpected, 2 usage, 3 hub/network, 4 store integrity, 5 mount/FUSE/permission, 130 interrupted.\n" +
			"Store location: --store, else $MODELFS_STORE, else $XDG_DATA_HOME/modelfs (~/.local/share/modelfs).",
	);
	for (const make of commands) {
		const cmd = make();
		cmd.exitOverride();
		program.addCommand(cmd);
	}
	return program;
}

async function main(argv: string[]): Promise<void> {
	const program = buildProgram();
	// Long commands (import, ingest, verify) install their own SIGINT handler
	// that aborts their work and throws InterruptedError, so cleanup runs.
	try {
		await program.parseAsync(argv);
	} catch (err) {
		if (err instanceof CommanderError) {
			// --help and --version end here with exit code 0.
			process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
			return;
		}
		report(err);
		process.exitCode = exitCodeFor(err);
	}
}

await main(process.argv);
