export { hashFile, type HashFileParams } from "./hashFile.js";
export { HashPool, HashStream } from "./HashPool.js";
export { getHashPool } from "./getHashPool.js";
export type { HashResult } from "./HashMessages.js";
