import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { threadId } from "node:worker_threads";
import { STORE_PATHS } from "../storeFormat.js";

/**
 * A fresh path in `<store>/tmp/`: `<kind>-<pid>-<threadId>-<random>`, so a
 * writer that opens the store later can tell files of dead processes.
 */
export function tmpName(storeDir: string, kind: string): string {
	return join(storeDir, STORE_PATHS.tmp, `${kind}-${process.pid}-${threadId}-${randomBytes(6).toString("hex")}`);
}
