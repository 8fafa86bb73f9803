let installed = false;

/**
 * lmdb-js logs a failed asynchronous write batch with console.error (its
 * write.js, "Error: Input/output error" and a stack) and then rejects the
 * batch's commit promise. That rejection is what the store turns into its
 * one-line message (indexTransaction: STORE_NO_SPACE on a full disk), so the
 * log came before the clean message as noise. This drops exactly those log
 * calls (one Error whose stack is in lmdb's write.js) for the rest of the
 * process; with MODELFS_DEBUG=1 they are printed as a debug line instead.
 * Everything else logged goes through unchanged.
 */
export function quietLmdbWriteErrors(): void {
	if (installed) return;
	installed = true;
	const original = console.error.bind(console);
	console.error = (...args: unknown[]) => {
		const e = args[0];
		if (args.length === 1 && e instanceof Error && /[\\/]lmdb[\\/]write\.js/.test(e.stack ?? "")) {
			if (process.env.MODELFS_DEBUG) process.stderr.write(`modelfs: debug: lmdb write batch failed: ${e.message}\n`);
			return;
		}
		original(...args);
	};
}
