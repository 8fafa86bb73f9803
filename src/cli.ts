#!/usr/bin/env node
import { readFileSync } from "node:fs";
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
import { rebuildIndexCommand } from "./commands/rebuild-index.js";
import { refreshCommand } from "./commands/refresh.js";
import { restartCommand } from "./commands/restart.js";
import { rmCommand } from "./commands/rm.js";
import { scanCommand } from "./commands/scan.js";
import { statsCommand } from "./commands/stats.js";
import { statusCommand } from "./commands/status.js";
import { syncCommand } from "./commands/sync.js";
import { systemdUnitCommand } from "./commands/systemd-unit.js";
import { umountCommand } from "./commands/umount.js";
import { upCommand } from "./commands/up.js";
import { verifyCommand } from "./commands/verify.js";
import { warmCommand } from "./commands/warm.js";
import { HubError, IndexError, InterruptedError, ModelfsError, MountError, StoreError, UsageError } from "./errors.js";
import { redactSecrets } from "./system/redactSecrets.js";

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

/** Options that may be given before the command name; commands that take them declare them too. */
const GLOBAL_OPTIONS: Array<[string, string]> = [
	["--store <dir>", "store directory (default: $MODELFS_STORE, else $XDG_DATA_HOME/modelfs)"],
	["--config <file>", "config file (default: $MODELFS_CONFIG, else /etc/modelfs/config.yaml)"],
	["--json", "print results as JSON (commands that report something)"],
	["--quiet", "no progress bars or notes on stderr"],
];

const commands: Array<() => Command> = [
	initCommand,
	scanCommand,
	importCommand,
	ingestCommand,
	syncCommand,
	lsCommand,
	infoCommand,
	dfCommand,
	rmCommand,
	gcCommand,
	verifyCommand,
	rebuildIndexCommand,
	mountCommand,
	umountCommand,
	statusCommand,
	statsCommand,
	overlayCommand,
	absorbCommand,
	refreshCommand,
	restartCommand,
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

/**
 * The access tokens this run knows (HF_TOKEN, --token, the file named by
 * --token-file): whatever an error carries, they are never printed.
 */
function knownSecrets(argv: string[]): string[] {
	const secrets = [process.env.HF_TOKEN, process.env.HUGGING_FACE_HUB_TOKEN].filter((s): s is string => typeof s === "string");
	for (let i = 0; i < argv.length; i++) {
		const [flag, inline] = argv[i].split(/=(.*)/s, 2);
		const value = inline ?? argv[i + 1];
		if (value === undefined) continue;
		if (flag === "--token") secrets.push(value);
		if (flag === "--token-file") {
			try {
				secrets.push(readFileSync(value, "utf8").trim());
			} catch {
				// The command itself says what is wrong with the file.
			}
		}
	}
	return secrets;
}

function report(err: unknown, secrets: string[]): void {
	const say = (text: string) => process.stderr.write(redactSecrets({ text, secrets }));
	const debug = process.env.MODELFS_DEBUG === "1";
	if (err instanceof ModelfsError) {
		say(`modelfs: ${err.message}\n`);
		if (err.hint) say(`hint: ${err.hint}\n`);
		if (debug && err.stack) say(`${err.stack}\n`);
		if (debug && err.cause) say(`cause: ${String((err.cause as Error)?.stack ?? err.cause)}\n`);
		return;
	}
	const message = err instanceof Error ? err.message : String(err);
	say(`modelfs: unexpected error: ${message}\n`);
	say(debug && err instanceof Error && err.stack ? `${err.stack}\n` : "hint: run again with MODELFS_DEBUG=1 for the stack trace and report it\n");
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
	// Options every command understands may come before the command name too
	// (`modelfs --store X ls`); each command still declares its own (they show
	// in its --help), and a value given after the command name wins.
	for (const [flags, description] of GLOBAL_OPTIONS) program.option(flags, description);
	program.hook("preAction", (_program, action) => {
		const given = program.opts();
		for (const option of action.options) {
			const key = option.attributeName();
			if (given[key] === undefined) continue;
			const source = action.getOptionValueSource(key);
			if (source === undefined || source === "default") action.setOptionValueWithSource(key, given[key], "cli");
		}
	});
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

/**
 * `modelfs ls | head -1`: once the reader of stdout has gone, further output
 * is dropped instead of ending the run with an EPIPE stack trace; the
 * command finishes (and flushes the store) as it would have.
 */
function dropOutputAfterEpipe(): void {
	process.stdout.on("error", (err: NodeJS.ErrnoException) => {
		if (err.code === "EPIPE") return;
		throw err;
	});
}

async function main(argv: string[]): Promise<void> {
	dropOutputAfterEpipe();
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
		report(err, knownSecrets(argv));
		process.exitCode = exitCodeFor(err);
	}
}

await main(process.argv);
