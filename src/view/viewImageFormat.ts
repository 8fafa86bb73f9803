/**
 * The view image's layout (native/VIEW_IMAGE.md), declared once for the
 * writer. The daemon's declaration is native/view_image.h; the test
 * test/view/viewImageFormat.test.ts compares the two through the C program
 * native/tools/image_layout.c, which prints the C side in this same shape.
 */
export interface ImageField {
	offset: number;
	size: number;
	type: "u32" | "u64" | "i64" | "bytes";
}

export interface ImageStruct<F extends string> {
	size: number;
	fields: Record<F, ImageField>;
}

const u32 = (offset: number): ImageField => ({ offset, size: 4, type: "u32" });
const u64 = (offset: number): ImageField => ({ offset, size: 8, type: "u64" });
const i64 = (offset: number): ImageField => ({ offset, size: 8, type: "i64" });
const bytes = (offset: number, size: number): ImageField => ({ offset, size, type: "bytes" });

export const VIEW_IMAGE_FORMAT = {
	magic: "MFSVIEW1",
	version: 2,
	header_size: 128,
	inode_size: 88,
	dirent_size: 16,
	inode_flags: { INLINE: 1, ORPHAN: 2, PREFETCH: 4 },
	structs: {
		mfs_image_header: {
			size: 128,
			fields: {
				magic: bytes(0, 8),
				version: u32(8),
				header_size: u32(12),
				inode_count: u32(16),
				dirent_count: u32(20),
				inodes_off: u64(24),
				dirents_off: u64(32),
				strings_off: u64(40),
				strings_size: u64(48),
				objects_dir_off: u32(56),
				objects_dir_len: u32(60),
				mtime: i64(64),
				next_nodeid: u64(72),
				image_id: u64(80),
				base_id: u64(88),
				generation: u64(96),
				reserved: bytes(104, 24),
			},
		} satisfies ImageStruct<string>,
		mfs_inode: {
			size: 88,
			fields: {
				mode: u32(0),
				nlink: u32(4),
				size: u64(8),
				nodeid: u64(16),
				parent: u64(24),
				mtime: i64(32),
				a: u32(40),
				b: u32(44),
				flags: u32(48),
				reserved: u32(52),
				blake3: bytes(56, 32),
			},
		} satisfies ImageStruct<string>,
		mfs_dirent: {
			size: 16,
			fields: {
				name_off: u32(0),
				name_len: u32(4),
				nodeid: u64(8),
			},
		} satisfies ImageStruct<string>,
	},
} as const;
