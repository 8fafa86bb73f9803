import { defineConfig } from "vitest/config";

export default defineConfig({
	test: {
		include: ["test/**/*.test.ts"],
		// FUSE mounts, real processes and multi-MB files: give each test room.
		testTimeout: 120_000,
		hookTimeout: 120_000,
		// Mount tests share /dev/fuse and the two cores; files run one at a time
		// so timings and page-cache drops in one file do not disturb another.
		fileParallelism: false,
		pool: "forks",
	},
});
