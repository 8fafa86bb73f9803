import { UsageError } from "../../errors.js";

const REVISION = /^[A-Za-z0-9][A-Za-z0-9._\-/]*$/;

/** Throws UsageError (REVISION_INVALID) unless `rev` is usable as a ref name or snapshot folder. */
export function validateRevision(rev: string): void {
	if (typeof rev !== "string" || !REVISION.test(rev) || rev.includes("..") || rev.endsWith("/") || rev.includes("//") || rev.length > 255) {
		throw new UsageError("REVISION_INVALID", `invalid revision ${JSON.stringify(rev)}`, { hint: "use a commit sha or a branch/tag name" });
	}
}
