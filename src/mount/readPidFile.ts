import { readFile } from "node:fs/promises";

/** The pid in a pid file (`<pid>\n`), or null when the file does not exist. */
export async function readPidFile(path: string): Promise<number | null> {
	let text: string;
	try {
		text = await readFile(path, "utf8");
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
		throw err;
	}
	const pid = Number.parseInt(text.trim(), 10);
	return Number.isInteger(pid) && pid > 0 ? pid : null;
}
