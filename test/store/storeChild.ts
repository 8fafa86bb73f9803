/**
 * A child process for store tests that need real other processes:
 *   hold <storeDir>          take the writer lock, print "locked", hold it until stdin closes
 *   put <storeDir> <file>    open for writing (waiting for the lock), putFile, print the BLAKE3
 *   stream <storeDir> <file> <resumeKey> <size>  stream the file through createBlobWriter, commit
 */
import { readFileSync } from "node:fs";
import { createBlobWriter } from "../../src/store/objects/createBlobWriter.js";
import { putFile } from "../../src/store/objects/putFile.js";
import { openStore } from "../../src/store/openStore.js";

const [action, storeDir, file, resumeKey, size] = process.argv.slice(2);

if (action === "hold") {
	const store = await openStore({ storeDir, write: true });
	process.stdout.write("locked\n");
	process.stdin.resume();
	await new Promise((resolve) => process.stdin.on("end", resolve));
	await store.close();
} else if (action === "put") {
	const store = await openStore({ storeDir, write: true, wait: true });
	const r = await putFile({ store, path: file });
	await store.close();
	process.stdout.write(`${r.blake3}\n`);
} else if (action === "stream") {
	const store = await openStore({ storeDir, write: true, wait: true });
	const w = await createBlobWriter({ store, resumeKey, size: Number(size) });
	const data = readFileSync(file);
	for (let off = w.resumedBytes; off < data.length; off += 1 << 16) await w.write(data.subarray(off, Math.min(off + (1 << 16), data.length)));
	const r = await w.commit({ size: data.length });
	await store.close();
	process.stdout.write(`${r.blake3}\n`);
} else {
	throw new Error(`unknown action ${action}`);
}
