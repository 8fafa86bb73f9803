import { open } from "node:fs/promises";
import { MountError } from "../errors.js";

const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/**
 * Opens a safetensors file the way a loader does: the 8-byte little-endian
 * header length, the JSON header, then every tensor's dtype, shape and
 * data_offsets, which must tile the data after the header exactly; the last
 * byte of every tensor must read. The header must name exactly `tensors`.
 * Returns how many tensors it holds; throws DEMO_BAD_SAFETENSORS otherwise.
 */
export async function checkSafetensors(params: { path: string; tensors: string[] }): Promise<number> {
	const { path } = params;
	const bad = (why: string) => new MountError("DEMO_BAD_SAFETENSORS", `${path} read through the overlay is not valid safetensors: ${why}`);
	const fh = await open(path, "r");
	try {
		const size = (await fh.stat()).size;
		const head = Buffer.alloc(8);
		if ((await fh.read(head, 0, 8, 0)).bytesRead !== 8) throw bad("shorter than the 8-byte header length");
		const headerLength = Number(head.readBigUInt64LE(0));
		// safetensors refuses headers over 100 MB.
		if (headerLength > 100_000_000 || 8 + headerLength > size) throw bad(`header length ${headerLength} does not fit in ${size} bytes`);
		const headerBytes = Buffer.alloc(headerLength);
		if ((await fh.read(headerBytes, 0, headerLength, 8)).bytesRead !== headerLength) throw bad("short read of the header");
		let header: Record<string, { dtype?: unknown; shape?: unknown; data_offsets?: unknown }>;
		try {
			header = JSON.parse(headerBytes.toString("utf8"));
		} catch (err) {
			throw bad(`the header is not JSON (${(err as Error).message})`);
		}
		const entries = Object.entries(header).filter(([name]) => name !== "__metadata__");
		const names = entries.map(([name]) => name).sort();
		const want = [...params.tensors].sort();
		if (names.join("\n") !== want.join("\n")) throw bad(`it holds ${names.length} tensors, the index names ${want.length} for it`);
		const ranges: Array<[number, number, string]> = [];
		for (const [name, t] of entries) {
			const width = typeof t.dtype === "string" ? DTYPE_BYTES[t.dtype] : undefined;
			if (width === undefined) throw bad(`${name} has an unknown dtype ${String(t.dtype)}`);
			if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`${name} has a bad shape`);
			const offsets = t.data_offsets;
			if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) throw bad(`${name} has bad data_offsets`);
			const [begin, end] = offsets as [number, number];
			const bytes = (t.shape as number[]).reduce((a, b) => a * b, 1) * width;
			if (end - begin !== bytes) throw bad(`${name} spans ${end - begin} bytes, its ${t.dtype} ${JSON.stringify(t.shape)} needs ${bytes}`);
			ranges.push([begin, end, name]);
		}
		ranges.sort((a, b) => a[0] - b[0]);
		let at = 0;
		for (const [begin, end, name] of ranges) {
			if (begin !== at) throw bad(`${name} starts at ${begin}, the tensor before it ends at ${at}`);
			at = end;
		}
		const dataStart = 8 + headerLength;
		if (dataStart + at !== size) throw bad(`the tensors end at byte ${dataStart + at}, the file has ${size}`);
		const one = Buffer.alloc(1);
		for (const [begin, end, name] of ranges) {
			if (end > begin && (await fh.read(one, 0, 1, dataStart + end - 1)).bytesRead !== 1) throw bad(`the last byte of ${name} cannot be read`);
		}
		return ranges.length;
	} finally {
		await fh.close();
	}
}
