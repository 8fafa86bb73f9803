/** Alignment that O_DIRECT needs of memory, file offsets and lengths (the page size; enough for 512- and 4096-byte sectors). */
export const DIRECT_ALIGN = 4096;

/** WebAssembly's page: the unit a Memory is sized in. */
const WASM_PAGE = 64 * 1024;

export interface AllocateSharedChunksParams {
	count: number;
	/** Bytes per chunk; a multiple of 64 KiB. */
	size: number;
}

/**
 * Chunks of shared memory whose addresses are page-aligned, so the hash
 * workers can write them to a file opened with O_DIRECT as they are. A plain
 * SharedArrayBuffer comes from malloc and is not aligned (measured: every
 * 4 MiB one was refused with EINVAL); a shared WebAssembly.Memory is mapped
 * whole pages and is. One Memory holds all `count` chunks: each Memory
 * reserves a large range of address space, so one per chunk would run out.
 */
export function allocateSharedChunks(params: AllocateSharedChunksParams): Uint8Array[] {
	const { count, size } = params;
	if (!Number.isInteger(count) || count < 1) throw new TypeError("allocateSharedChunks: `count` must be a positive integer");
	if (!Number.isInteger(size) || size < WASM_PAGE || size % WASM_PAGE !== 0) throw new TypeError("allocateSharedChunks: `size` must be a positive multiple of 64 KiB");
	const pages = (count * size) / WASM_PAGE;
	const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
	const buffer = memory.buffer as unknown as SharedArrayBuffer;
	return Array.from({ length: count }, (_, i) => new Uint8Array(buffer, i * size, size));
}
