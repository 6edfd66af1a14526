/**
 * TensorFlow.js backend selection for ganatomy: {@link initBackend} picks `wasm` (threaded SIMD, with this
 * project's training kernels), `cpu` or `tensorflow`, and {@link backendInfo} reports the choice.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "./mod.ts";
 * const info = await initBackend({ backend: "wasm", threads: 2 });
 * assert.equal(info.threads, 2);
 * ```
 * @module
 */
export * from "./backend.ts";
export * from "./wasm_kernels.ts";
export * from "./wasm_threads.ts";
