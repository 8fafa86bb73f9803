export { createByteProgress, type ByteProgress, type CreateByteProgressParams } from "./createByteProgress.js";
export { formatBytes } from "./formatBytes.js";
