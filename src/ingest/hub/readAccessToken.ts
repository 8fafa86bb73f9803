import { readFileSync } from "node:fs";
import { UsageError } from "../../errors.js";

export interface ReadAccessTokenParams {
	/** `--token`: visible to every user of the machine in `ps`, so the last resort. */
	token?: string;
	/** `--token-file`: a file holding the token (surrounding whitespace and a final newline are dropped). */
	tokenFile?: string;
	/** Where HF_TOKEN is read. @default process.env */
	env?: NodeJS.ProcessEnv;
}

/**
 * The hub access token of a run: `--token`, else the file `--token-file`
 * names, else HF_TOKEN; undefined when none is given. The file is the way
 * to pass a token without putting it in the process list or the
 * environment (a Kubernetes secret mounted as a file). Its content is never
 * part of a message.
 */
export function readAccessToken(params: ReadAccessTokenParams = {}): string | undefined {
	const env = params.env ?? process.env;
	if (params.token !== undefined && params.tokenFile !== undefined) {
		throw new UsageError("TOKEN_INVALID", "give --token or --token-file, not both");
	}
	if (params.token !== undefined) return params.token;
	if (params.tokenFile !== undefined) {
		let text: string;
		try {
			text = readFileSync(params.tokenFile, "utf8");
		} catch (err) {
			throw new UsageError("TOKEN_FILE_UNREADABLE", `cannot read the token file ${params.tokenFile} (${(err as NodeJS.ErrnoException).code ?? "error"})`, {
				hint: "--token-file names a file that holds the access token, readable by this user",
			});
		}
		const token = text.trim();
		if (token === "") throw new UsageError("TOKEN_INVALID", `the token file ${params.tokenFile} is empty`);
		return token;
	}
	return env.HF_TOKEN || undefined;
}
