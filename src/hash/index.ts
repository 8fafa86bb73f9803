export { hashFile, type HashFileParams } from "./hashFile.js";
export { HashPool, HashStream, getHashPool } from "./HashPool.js";
export type { HashResult } from "./HashMessages.js";
