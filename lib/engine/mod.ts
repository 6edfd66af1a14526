/**
 * Engines that execute model descriptions, and the edits they all honour. (`ort.ts` is not re-exported: it loads
 * the native addon; `createGenerator` imports it lazily and falls back to tfjs when it cannot load.)
 *
 * @example
 * ```ts
 * import { ablate, rescale } from "./mod.ts";
 * const edits = { layer4: ablate([1, 2], 512), layer6: rescale([3], 512, 0.9) };
 * ```
 * @module
 */
export * from "./edits.ts";
export * from "./tfjs.ts";
export * from "./onnx_graph.ts";
export * from "./select.ts";
