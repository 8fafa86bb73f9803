import { stripCredentials, UsageError } from "../../errors.js";

export interface HubEndpointParams {
	/** Environment to read HF_ENDPOINT from. @default process.env */
	env?: NodeJS.ProcessEnv;
}

/**
 * The hub to talk to: `HF_ENDPOINT` (a mirror, an emulator) or
 * https://huggingface.co. `@huggingface/hub` reads no environment itself, so
 * this is passed to it as `hubUrl`. No trailing slash.
 */
export function hubEndpoint(params: HubEndpointParams = {}): string {
	const env = params.env ?? process.env;
	const raw = (env.HF_ENDPOINT ?? "").trim();
	if (raw === "") return "https://huggingface.co";
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw new UsageError("HF_ENDPOINT_INVALID", `HF_ENDPOINT is not a URL: ${stripCredentials(raw)}`, { hint: "set it to e.g. https://huggingface.co or unset it" });
	}
	if (url.protocol !== "http:" && url.protocol !== "https:") {
		throw new UsageError("HF_ENDPOINT_INVALID", `HF_ENDPOINT must be http(s): ${stripCredentials(raw)}`);
	}
	if (url.username !== "" || url.password !== "") {
		// fetch refuses such URLs, and they would end up in messages.
		throw new UsageError("HF_ENDPOINT_INVALID", `HF_ENDPOINT must not hold credentials: ${stripCredentials(raw)}`, {
			hint: "put the access token in HF_TOKEN (or --token) instead",
		});
	}
	return raw.replace(/\/+$/, "");
}
