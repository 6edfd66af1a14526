/**
 * Training: a resumable loop with checkpoints, and adversarial training of stage-described generators.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stepRng } from "./mod.ts";
 * const rng = stepRng(0, 42); // the same stream for step 42 of seed 0, in every run
 * assert.equal(rng.int(10), 6);
 * ```
 * @module
 */
export * from "./higher_order.ts";
export * from "./checkpoint.ts";
export * from "./loop.ts";
export * from "./gan.ts";
export * from "./curves.ts";
