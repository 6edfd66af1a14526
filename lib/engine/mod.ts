/**
 * Engines that execute model descriptions, and the edits they all honour.
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
