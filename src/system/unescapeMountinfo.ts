/** Undoes mountinfo's escapes: the kernel writes space, tab, newline and backslash as `\ooo`. */
export function unescapeMountinfo(s: string): string {
	return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}
