/** Reads the `*.ext filter=lfs` patterns out of a `.gitattributes` text. */
export function importLfsPatterns(gitattributes: string): string[] {
	const out: string[] = [];
	for (const line of gitattributes.split("\n")) {
		const parts = line.trim().split(/\s+/);
		if (parts.length > 1 && !parts[0].startsWith("#") && parts.includes("filter=lfs")) out.push(parts[0]);
	}
	return out;
}
