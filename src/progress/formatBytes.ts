const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** Binary units for people: 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
	let v = bytes;
	let u = 0;
	while (v >= 1024 && u < UNITS.length - 1) {
		v /= 1024;
		u++;
	}
	return `${u === 0 ? v.toFixed(0) : v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[u]}`;
}
