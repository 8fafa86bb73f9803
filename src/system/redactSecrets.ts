export interface RedactSecretsParams {
	/** Text about to be printed or logged. */
	text: string;
	/** The secret values to hide (access tokens); empty and very short values are ignored. */
	secrets: readonly string[];
}

/**
 * Replaces every occurrence of a secret in `text` with `***`: an error body
 * that echoes the token, a URL with credentials, a stack with an argument.
 * Tokens may have any format (a mirror's), so the values themselves are
 * matched, not a pattern such as `hf_...`.
 */
export function redactSecrets(params: RedactSecretsParams): string {
	let out = params.text;
	// Longest first, so a secret that contains another is hidden whole.
	const secrets = [...new Set(params.secrets)].filter((s) => typeof s === "string" && s.length >= 4).sort((a, b) => b.length - a.length);
	for (const s of secrets) out = out.split(s).join("***");
	return out;
}
