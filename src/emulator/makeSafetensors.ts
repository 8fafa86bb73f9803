import { createHash } from "node:crypto";

export interface SafetensorsTensorSpec {
	name: string;
	/** Only fixed-size dtypes are needed for fixtures. */
	dtype: "F32" | "F16" | "BF16" | "I64" | "I32" | "U8";
	shape: number[];
}

export interface MakeSafetensorsParams {
	tensors: SafetensorsTensorSpec[];
	/** Seeds the tensor bytes (same seed, same file). @default "modelfs" */
	seed?: string;
	/** `__metadata__` string map. @default { format: "pt" } */
	metadata?: Record<string, string>;
}

const DTYPE_BYTES: Record<SafetensorsTensorSpec["dtype"], number> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1 };

/**
 * Builds a valid safetensors file: an 8-byte little-endian header length, the
 * JSON header (padded with spaces to 8 bytes, as the reference writer does)
 * and the tensors' bytes back to back in header order.
 */
export function makeSafetensors(params: MakeSafetensorsParams): Buffer {
	if (!Array.isArray(params.tensors)) throw new TypeError("makeSafetensors: `tensors` must be an array");
	const header: Record<string, unknown> = { __metadata__: params.metadata ?? { format: "pt" } };
	const parts: Buffer[] = [];
	let offset = 0;
	for (const t of params.tensors) {
		const count = t.shape.reduce((a, b) => a * b, 1);
		const n = count * DTYPE_BYTES[t.dtype];
		header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n] };
		parts.push(seededBytes(`${params.seed ?? "modelfs"}\0${t.name}`, n));
		offset += n;
	}
	let json = JSON.stringify(header);
	json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
	const jsonBytes = Buffer.from(json, "utf8");
	const len = Buffer.alloc(8);
	len.writeBigUInt64LE(BigInt(jsonBytes.length));
	return Buffer.concat([len, jsonBytes, ...parts]);
}

function seededBytes(seed: string, n: number): Buffer {
	const out = Buffer.alloc(n);
	let block = createHash("sha256").update(seed).digest();
	for (let off = 0; off < n; off += block.length) {
		block.copy(out, off, 0, Math.min(block.length, n - off));
		block = createHash("sha256").update(block).digest();
	}
	return out;
}
