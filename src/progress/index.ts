export { createByteProgress, formatBytes, type ByteProgress, type CreateByteProgressParams } from "./createByteProgress.js";
