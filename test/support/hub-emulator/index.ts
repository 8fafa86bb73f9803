/**
 * The hub emulator for tests. It lives in src/emulator (compiled into dist/,
 * since `modelfs demo` serves a generated model from it at run time); this
 * folder re-exports it where tests look for support code.
 */
export * from "../../../src/emulator/index.js";
