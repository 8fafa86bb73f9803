import { readFileIfExists } from "./readFileIfExists.js";

/** The pid in a pid file (`<pid>\n`), or null when the file does not exist. */
export async function readPidFile(path: string): Promise<number | null> {
	const buf = await readFileIfExists({ path });
	if (buf === null) return null;
	const pid = Number.parseInt(buf.toString("utf8").trim(), 10);
	return Number.isInteger(pid) && pid > 0 ? pid : null;
}
